"""The one settings module: typed, from the environment, the running stack's file and `.env`.

Built once at start (``load_settings``), validated, then passed down. Bad values stop
the process with the variable's name and what is allowed; secrets never appear in
messages because they are ``SecretStr``.

Sources, strongest first: the process environment, the file ``make up`` writes for the stack
it started (``<ROASTBOT_VAR_DIR or var>/run/stack.env``: sandbox or real, ports, where the
supervisor password is; never a secret of its own), then ``.env``. So the doctor, the
``roastbot`` command and the console see the stack that runs, as its workers do.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from roastbot.local_redis import local_redis_url

X_CREDENTIALS = ("x_api_key", "x_api_secret", "x_access_token", "x_access_token_secret", "x_bearer_token")
SANDBOX_X_CREDENTIALS = {
    "x_api_key": "sandbox-api-key",
    "x_api_secret": "sandbox-api-secret",
    "x_access_token": "sandbox-access-token",
    "x_access_token_secret": "sandbox-access-token-secret",
    "x_bearer_token": "sandbox-bearer-token",
}


def stack_env_file(environ: Mapping[str, str] = os.environ) -> Path:
    """Where ``scripts/stack.py up`` writes the running stack's settings: relative, like .env,
    to the directory the command runs in, unless ROASTBOT_VAR_DIR names the var dir.
    ROASTBOT_STACK_ENV names another file (the test suite names none: os.devnull)."""
    if environ.get("ROASTBOT_STACK_ENV"):
        return Path(environ["ROASTBOT_STACK_ENV"])
    return Path(environ.get("ROASTBOT_VAR_DIR") or "var") / "run" / "stack.env"


def _email_list(value: str) -> frozenset[str]:
    # E-mail addresses compare case-insensitively (providers differ in the case they send).
    return frozenset(part.strip().lower() for part in value.split(",") if part.strip())


TriageOrder = Literal["newest", "followers", "engagement"]


class Settings(BaseSettings):
    """Every knob of the bot. Field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Unless the caller named its own files (_env_file), the running stack's file is read
        # too, found when the settings are made; of several env files the later wins, so the
        # stack's values beat .env as they do for its workers (supervisord gives them the
        # stack's variables in their environment).
        if getattr(dotenv_settings, "env_file", None) == cls.model_config["env_file"]:
            dotenv_settings = DotEnvSettingsSource(
                settings_cls, env_file=(".env", stack_env_file()), env_file_encoding="utf-8"
            )
        return init_settings, env_settings, dotenv_settings, file_secret_settings

    # Infrastructure
    # A loopback redis:// URL without credentials gets the local Redis's generated password.
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", validate_default=True)
    redis_key_prefix: str = Field(default="roastbot", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    # REDIS_URL names one node of a Redis Cluster (the client finds the rest); every key then
    # carries the hash tag {prefix}, one slot a bot. Off: key names stay as they were.
    redis_cluster: bool = False
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_mentions: str = Field(default="mentions", pattern=r"^[A-Za-z0-9._-]+$")
    kafka_topic_dlq: str = Field(default="mentions.dlq", pattern=r"^[A-Za-z0-9._-]+$")
    kafka_partitions: int = Field(default=6, ge=1, le=1000)
    kafka_consumer_group: str = Field(default="roastbot-consumers", min_length=1)
    # For the topics our admin code creates (existing topics are left as they are): replicas
    # of each partition, and the in-sync replicas an acks=all write needs. Empty: the
    # broker's default.replication.factor and min.insync.replicas.
    kafka_replication_factor: int | None = Field(default=None, ge=1, le=32)
    kafka_min_insync_replicas: int | None = Field(default=None, ge=1, le=32)

    # X API. Empty base URL means the real X API.
    x_api_base_url: str = ""
    x_api_key: SecretStr = SecretStr("")
    x_api_secret: SecretStr = SecretStr("")
    x_access_token: SecretStr = SecretStr("")
    x_access_token_secret: SecretStr = SecretStr("")
    x_bearer_token: SecretStr = SecretStr("")
    x_timeout_s: float = Field(default=10.0, gt=0, le=120)

    # Roasting
    roaster: Literal["together", "openai", "offline"] | None = None
    together_api_key: SecretStr = SecretStr("")
    together_base_url: str = ""
    # ROASTER=openai: any OpenAI-compatible endpoint (Ollama, vLLM, OpenRouter, OpenAI...).
    llm_base_url: str = ""
    llm_api_key: SecretStr = SecretStr("")
    roast_model: str = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
    # The voice (tone, examples, topics to avoid); empty: roastbot/roasting/persona.toml.
    persona_file: str = ""
    # A guard model classifying every draft that passed the rule checks (empty: off). It uses
    # the roaster's endpoint and key unless GUARD_BASE_URL/GUARD_API_KEY name another one.
    guard_model: str = ""
    guard_base_url: str = ""
    guard_api_key: SecretStr = SecretStr("")
    llm_timeout_s: float = Field(default=20.0, gt=0, le=300)
    roast_seed: int = 0
    roast_max_attempts: int = Field(default=3, ge=1, le=10)

    # Producer
    poll_interval_s: float = Field(default=15.0, ge=0.2, le=3600)
    backfill_on_first_start: int = Field(default=0, ge=0, le=800)
    producer_lease_s: float = Field(default=0.0, ge=0, le=3600)
    producer_metrics_port: int = Field(default=9100, ge=0, le=65535)

    # Consumer
    # Mentions in flight per process; 0: by the roaster, 32 for an LLM (each call waits about a
    # second) and 8 offline (CPU work: more threads only queue for the GIL, bench/README.md).
    consumer_concurrency: int = Field(default=0, ge=0, le=1024)
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
    # Quota triage: a mention the posting quota cannot reach before it is this old (or
    # MAX_MENTION_AGE_S, the smaller) is skipped `quota_triage` before a roast is written;
    # TRIAGE says which waiting mention the next post slot goes to.
    max_reply_delay_s: float = Field(default=3600.0, gt=0)
    triage: TriageOrder = "newest"
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

    # Engagement tracker: re-reads each posted reply's public_metrics this long after posting;
    # leaves ENGAGEMENT_READ_FLOOR calls of GET /2/tweets' window unused; bills the reads as
    # owned ($0.001, the bot's own posts read with its own token) or other ($0.005) post reads.
    engagement_checks_s: list[float] = Field(default_factory=lambda: [3600.0, 86400.0], min_length=1)
    engagement_interval_s: float = Field(default=30.0, ge=0.05, le=3600)
    engagement_read_floor: int = Field(default=2, ge=0, le=10_000)
    engagement_read_price: Literal["owned", "other"] = "owned"
    engagement_retention_s: float = Field(default=8 * 24 * 3600.0, ge=60)

    # Supervisor's XML-RPC (the console's Processes page) and the console itself
    supervisor_url: str = "http://127.0.0.1:9001/RPC2"
    supervisor_user: str = "roastbot"
    supervisor_password: SecretStr = SecretStr("")
    # A file holding the password (the stack's generated one): read when SUPERVISOR_PASSWORD is empty.
    supervisor_password_file: str = ""
    console_password: SecretStr = SecretStr("")
    console_session_hours: float = Field(default=12.0, gt=0, le=24 * 30)  # a sign-in lasts this long
    console_timezone: str = "UTC"  # the console's charts and times, as an IANA name (Europe/Berlin)
    # "password": CONSOLE_PASSWORD (or loopback without one), for a single operator; "oidc": each
    # person signs in with the identity provider in .streamlit/secrets.toml [auth] (st.login) and
    # must be on one of the two comma-separated e-mail allow-lists.
    console_auth: Literal["password", "oidc"] = "password"
    console_operators: str = ""  # may see every page and send commands
    console_viewers: str = ""  # may see every page, send no command

    # Heartbeats: a worker is stale after this many seconds without one.
    heartbeat_ttl_s: float = Field(default=15.0, ge=1, le=600)
    # A worker waits this long at start for Redis and Kafka to answer, then exits saying why.
    startup_timeout_s: float = Field(default=30.0, gt=0, le=600)

    @field_validator("roaster", mode="before")
    @classmethod
    def _empty_roaster_is_auto(cls, value: object) -> object:
        return None if value == "" else value

    # Empty means unset: no budget cap, the broker's replication defaults.
    @field_validator(
        "daily_budget_usd", "kafka_replication_factor", "kafka_min_insync_replicas", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if urlparse(value).scheme not in {"redis", "rediss", "unix"}:
            raise ValueError("must start with redis://, rediss:// or unix://")
        return local_redis_url(value)

    @field_validator("console_timezone")
    @classmethod
    def _iana_time_zone(cls, value: str) -> str:
        try:
            return ZoneInfo(value.strip()).key
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone name such as UTC or Europe/Berlin") from None

    @field_validator("x_api_base_url", "together_base_url", "llm_base_url", "guard_base_url")
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

    @field_validator("persona_file")
    @classmethod
    def _persona_loads(cls, value: str) -> str:
        from roastbot.roasting.persona import PersonaError, load_persona

        try:
            load_persona(value.strip())
        except PersonaError as error:
            raise ValueError(f"{error}; fix the file or leave PERSONA_FILE empty for the default") from None
        return value.strip()

    @model_validator(mode="after")
    def _read_supervisor_password_file(self) -> Settings:
        if self.supervisor_password_file and not self.supervisor_password.get_secret_value():
            try:
                password = Path(self.supervisor_password_file).read_text().strip()
            except OSError as error:
                raise ValueError(
                    f"SUPERVISOR_PASSWORD_FILE cannot be read ({error.strerror}); "
                    "start the stack with `make up` or fix the path"
                ) from None
            self.supervisor_password = SecretStr(password)
        return self

    @model_validator(mode="after")
    def _resolve_roaster(self) -> Settings:
        if self.roaster is None:
            self.roaster = "together" if self.together_api_key.get_secret_value() else "offline"
        if not self.consumer_concurrency:
            self.consumer_concurrency = 8 if self.roaster == "offline" else 32
        if self.roaster == "together" and not self.together_api_key.get_secret_value():
            raise ValueError("ROASTER=together needs TOGETHER_API_KEY; set it or use ROASTER=offline")
        if self.roaster == "openai":
            self._check_openai_roaster()
        if self.guard_model:
            self._check_guard()
        if self.kafka_topic_mentions == self.kafka_topic_dlq:
            raise ValueError("KAFKA_TOPIC_MENTIONS and KAFKA_TOPIC_DLQ must differ")
        replicas, in_sync = self.kafka_replication_factor, self.kafka_min_insync_replicas
        if replicas is not None and in_sync is not None and in_sync > replicas:
            raise ValueError(
                f"KAFKA_MIN_INSYNC_REPLICAS={in_sync} exceeds KAFKA_REPLICATION_FACTOR={replicas}: "
                "no acks=all write could ever succeed"
            )
        if self.console_auth == "oidc" and not self.console_operator_emails | self.console_viewer_emails:
            raise ValueError("CONSOLE_AUTH=oidc lets in only listed e-mail addresses: set CONSOLE_OPERATORS")
        missing = self.missing_x_credentials()
        if 0 < len(missing) < len(X_CREDENTIALS):
            given = [name.upper() for name in X_CREDENTIALS if name.upper() not in missing]
            raise ValueError(
                f"X credentials are incomplete: {', '.join(missing)} not set ({', '.join(given)} set); "
                "set all five from the X developer portal (README: Real mode), or none"
            )
        return self

    def _check_openai_roaster(self) -> None:
        if not self.llm_base_url:
            raise ValueError(
                "ROASTER=openai needs LLM_BASE_URL, the endpoint's API root (usually ending in /v1): "
                "http://127.0.0.1:11434/v1 for Ollama, https://api.openai.com/v1 for OpenAI"
            )
        if not self.llm_api_key.get_secret_value():
            raise ValueError(
                "ROASTER=openai needs LLM_API_KEY (a local server ignores it: LLM_API_KEY=ollama will do)"
            )
        if "roast_model" not in self.model_fields_set:
            raise ValueError(
                "ROASTER=openai needs ROAST_MODEL, a model the endpoint serves (e.g. llama3.2 on Ollama)"
            )

    def _check_guard(self) -> None:
        if self.guard_base_url and not self.guard_api_key.get_secret_value():
            raise ValueError("GUARD_BASE_URL needs GUARD_API_KEY (any value for a local server)")
        if self.roaster == "offline" and not self.guard_base_url:
            raise ValueError(
                "GUARD_MODEL with ROASTER=offline needs GUARD_BASE_URL and GUARD_API_KEY "
                "(an OpenAI-compatible endpoint: the offline roaster has none to share)"
            )

    def missing_x_credentials(self) -> list[str]:
        """The X credential variables that are empty (all five for none at all)."""
        return [name.upper() for name in X_CREDENTIALS if not getattr(self, name).get_secret_value()]

    @property
    def console_operator_emails(self) -> frozenset[str]:
        return _email_list(self.console_operators)

    @property
    def console_viewer_emails(self) -> frozenset[str]:
        return _email_list(self.console_viewers)

    @property
    def sandbox_mode(self) -> bool:
        """True when X calls go to a local sandbox rather than the real API."""
        return bool(self.x_api_base_url)

    def secret_values(self) -> list[str]:
        """Every configured secret, for log redaction."""
        secrets = [self.x_api_key, self.x_api_secret, self.x_access_token, self.x_access_token_secret]
        secrets += [self.x_bearer_token, self.together_api_key, self.llm_api_key, self.guard_api_key]
        secrets += [self.supervisor_password, self.console_password]
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
