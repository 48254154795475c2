# The roastbot application image: supervisord runs the workers and the console.
# Kafka and Redis come from their own images (docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY roastbot ./roastbot
COPY workers ./workers
COPY app ./app
COPY sandbox ./sandbox
COPY scripts ./scripts
COPY supervisord.conf .
# The console's Streamlit settings (minimal toolbar); the address comes from CONSOLE_ADDRESS.
COPY .streamlit ./.streamlit

RUN useradd --create-home --uid 10001 roastbot && mkdir -p /app/var/run /app/var/log && chown -R roastbot /app/var
USER roastbot

# Values supervisord.conf expands; secrets come from the environment at run time only.
ENV ROASTBOT_HOME=/app \
    ROASTBOT_VAR_DIR=/app/var \
    ROASTBOT_PYTHON=/usr/local/bin/python \
    ROASTBOT_SANDBOX=false \
    ROASTBOT_CONSOLE=true \
    ROASTBOT_WORKERS_AUTOSTART=true \
    SUPERVISOR_PORT=9001 \
    SUPERVISOR_SOCKET=/app/var/run/supervisor.sock \
    SUPERVISOR_USER=roastbot \
    X_SANDBOX_PORT=8700 \
    LLM_FAKE_PORT=8701 \
    CONSOLE_PORT=8501 \
    CONSOLE_ADDRESS=0.0.0.0 \
    CONSUMER_PROCESSES=2

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
CMD ["supervisord", "-n", "-c", "/app/supervisord.conf"]
