"""The one settings module: typed, from the environment and an optional `.env`.

Built once at start (``load_settings``), validated, then passed down. Bad values stop
the process with the variable's name and what is allowed; secrets never appear in
messages because they are ``SecretStr``.
"""

from __future__ import annotations

import sys
from typing import Literal
from urllib.parse import urlparse

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from roastbot.local_redis import local_redis_url

X_CREDENTIALS = ("x_api_key", "x_api_secret", "x_access_token", "x_access_token_secret", "x_bearer_token")
SANDBOX_X_CREDENTIALS = {
    "x_api_key": "sandbox-api-key",
    "x_api_secret": "sandbox-api-secret",
    "x_access_token": "sandbox-access-token",
    "x_access_token_secret": "sandbox-access-token-secret",
    "x_bearer_token": "sandbox-bearer-token",
}


class Settings(BaseSettings):
    """Every knob of the bot. Field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Infrastructure
    # A loopback redis:// URL without credentials gets the local Redis's generated password.
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", validate_default=True)
    redis_key_prefix: str = Field(default="roastbot", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_mentions: str = Field(default="mentions", pattern=r"^[A-Za-z0-9._-]+$")
    kafka_topic_dlq: str = Field(default="mentions.dlq", pattern=r"^[A-Za-z0-9._-]+$")
    kafka_partitions: int = Field(default=6, ge=1, le=1000)
    kafka_consumer_group: str = Field(default="roastbot-consumers", min_length=1)

    # X API. Empty base URL means the real X API.
    x_api_base_url: str = ""
    x_api_key: SecretStr = SecretStr("")
    x_api_secret: SecretStr = SecretStr("")
    x_access_token: SecretStr = SecretStr("")
    x_access_token_secret: SecretStr = SecretStr("")
    x_bearer_token: SecretStr = SecretStr("")
    x_timeout_s: float = Field(default=10.0, gt=0, le=120)

    # Roasting
    roaster: Literal["together", "offline"] | None = None
    together_api_key: SecretStr = SecretStr("")
    together_base_url: str = ""
    roast_model: str = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
    llm_timeout_s: float = Field(default=20.0, gt=0, le=300)
    roast_seed: int = 0
    roast_max_attempts: int = Field(default=3, ge=1, le=10)

    # Producer
    poll_interval_s: float = Field(default=15.0, ge=0.2, le=3600)
    backfill_on_first_start: int = Field(default=0, ge=0, le=800)
    producer_lease_s: float = Field(default=0.0, ge=0, le=3600)
    producer_metrics_port: int = Field(default=9100, ge=0, le=65535)

    # Consumer
    consumer_concurrency: int = Field(default=32, ge=1, le=1024)
    consumer_max_retries: int = Field(default=5, ge=0, le=50)
    # A bug (an unexpected error) on one message this many times dead-letters it (bug:<Type>).
    consumer_bug_attempts: int = Field(default=3, ge=1, le=50)
    # Redis or Kafka failing one handler this long restarts the consumer's loop in-process;
    # WORKER_MAX_RESTARTS failed restarts in a row of a worker's loop end the process (exit 3).
    consumer_outage_patience_s: float = Field(default=60.0, ge=0, le=3600)
    worker_max_restarts: int = Field(default=5, ge=0, le=100)
    # A mention's claim: renewed by its holder's heartbeat (every third of it) while the holder
    # lives, taken over this long after it died.
    claim_lease_s: float = Field(default=15.0, ge=1, le=600)
    consumer_metrics_port: int = Field(default=9110, ge=0, le=65535)
    max_mention_age_s: float = Field(default=24 * 3600, gt=0)
    per_author_limit_per_hour: int = Field(default=5, ge=0, le=1000)
    dry_run: bool = False
    # Etiquette: one roast per conversation per window; never talk to known bots, and stop
    # when the bot already replied this many times in one conversation within the window.
    per_conversation_limit: int = Field(default=1, ge=0, le=100)
    conversation_window_s: float = Field(default=3600.0, ge=1)
    loop_guard_replies: int = Field(default=3, ge=1, le=100)
    known_bot_accounts: str = ""  # comma-separated usernames or ids

    @property
    def known_bots(self) -> frozenset[str]:
        return frozenset(
            part.strip().lstrip("@").lower() for part in self.known_bot_accounts.split(",") if part.strip()
        )

    # Spend: what each call costs (defaults from the price pages, dates in .env.example) and
    # the daily cap. X bills a reply to a post that mentioned the bot, any other post, a post
    # with a URL, and reads per post returned (answers without data are free).
    price_x_reply_usd: float = Field(default=0.01, ge=0)
    price_x_post_usd: float = Field(default=0.015, ge=0)
    price_x_post_with_url_usd: float = Field(default=0.20, ge=0)
    price_x_read_per_post_usd: float = Field(default=0.001, ge=0)  # owned reads: own mentions and posts
    price_x_other_read_per_post_usd: float = Field(default=0.005, ge=0)  # anyone else's posts
    # Model -> [USD per million input tokens, per million output tokens].
    llm_prices_usd_per_mtok: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {"meta-llama/Llama-3.3-70B-Instruct-Turbo": (0.88, 0.88)}
    )
    # An LLM call is reserved at this size before it is made (usage is known only after it).
    llm_reserve_prompt_tokens: int = Field(default=1500, ge=0)
    llm_reserve_completion_tokens: int = Field(default=200, ge=0)
    daily_budget_usd: float | None = Field(default=None, ge=0)  # empty = no cap
    # While the day's budget is spent, the producer polls at most this often (reads go on, slower).
    budget_poll_interval_s: float = Field(default=300.0, ge=0.2, le=3600)

    # Supervisor's XML-RPC (the console's Processes page) and the console itself
    supervisor_url: str = "http://127.0.0.1:9001/RPC2"
    supervisor_user: str = "roastbot"
    supervisor_password: SecretStr = SecretStr("")
    console_password: SecretStr = SecretStr("")
    console_session_hours: float = Field(default=12.0, gt=0, le=24 * 30)  # a sign-in lasts this long

    # Heartbeats: a worker is stale after this many seconds without one.
    heartbeat_ttl_s: float = Field(default=15.0, ge=1, le=600)
    # A worker waits this long at start for Redis and Kafka to answer, then exits saying why.
    startup_timeout_s: float = Field(default=30.0, gt=0, le=600)

    @field_validator("roaster", mode="before")
    @classmethod
    def _empty_roaster_is_auto(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("daily_budget_usd", mode="before")
    @classmethod
    def _empty_budget_is_no_cap(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if urlparse(value).scheme not in {"redis", "rediss", "unix"}:
            raise ValueError("must start with redis://, rediss:// or unix://")
        return local_redis_url(value)

    @field_validator("x_api_base_url", "together_base_url")
    @classmethod
    def _http_url_or_empty(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and urlparse(value).scheme not in {"http", "https"}:
            raise ValueError("must be empty or an http(s):// URL")
        return value

    @field_validator("together_base_url")
    @classmethod
    def _no_v1_suffix(cls, value: str) -> str:
        # The together SDK already adds /v1/ to every path.
        if value.endswith("/v1"):
            raise ValueError("must not end in /v1 (the together SDK adds it); drop the suffix")
        return value

    @model_validator(mode="after")
    def _resolve_roaster(self) -> Settings:
        if self.roaster is None:
            self.roaster = "together" if self.together_api_key.get_secret_value() else "offline"
        if self.roaster == "together" and not self.together_api_key.get_secret_value():
            raise ValueError("ROASTER=together needs TOGETHER_API_KEY; set it or use ROASTER=offline")
        if self.kafka_topic_mentions == self.kafka_topic_dlq:
            raise ValueError("KAFKA_TOPIC_MENTIONS and KAFKA_TOPIC_DLQ must differ")
        missing = self.missing_x_credentials()
        if 0 < len(missing) < len(X_CREDENTIALS):
            given = [name.upper() for name in X_CREDENTIALS if name.upper() not in missing]
            raise ValueError(
                f"X credentials are incomplete: {', '.join(missing)} not set ({', '.join(given)} set); "
                "set all five from the X developer portal (README: Real mode), or none"
            )
        return self

    def missing_x_credentials(self) -> list[str]:
        """The X credential variables that are empty (all five for none at all)."""
        return [name.upper() for name in X_CREDENTIALS if not getattr(self, name).get_secret_value()]

    @property
    def sandbox_mode(self) -> bool:
        """True when X calls go to a local sandbox rather than the real API."""
        return bool(self.x_api_base_url)

    def secret_values(self) -> list[str]:
        """Every configured secret, for log redaction."""
        secrets = [
            self.x_api_key,
            self.x_api_secret,
            self.x_access_token,
            self.x_access_token_secret,
            self.x_bearer_token,
            self.together_api_key,
            self.supervisor_password,
            self.console_password,
        ]
        values = [s.get_secret_value() for s in secrets if s.get_secret_value()]
        redis_password = urlparse(self.redis_url).password
        return [*values, redis_password] if redis_password else values


class ConfigError(SystemExit):
    """Raised (as a clean exit) when the configuration is invalid."""


def describe_validation_error(error: ValidationError) -> str:
    """Each bad variable's environment name and what is allowed, never its value: one line for
    one problem, a line per problem under a heading for several."""
    problems = []
    for problem in error.errors():
        location = "_".join(str(part) for part in problem["loc"]).upper()
        message = problem["msg"].removeprefix("Value error, ")
        problems.append(f"{location}: {message}" if location else message)
    if len(problems) == 1:
        return f"invalid configuration: {problems[0]}"
    return "\n".join(["invalid configuration:", *(f"  {line}" for line in problems)])


def load_settings(**overrides: object) -> Settings:
    """Read and validate the settings; exit with a readable message when they are wrong."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        print(describe_validation_error(error), file=sys.stderr)
        raise ConfigError(2) from None
