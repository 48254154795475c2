"""`python -m roastbot doctor`: check every dependency and say how to fix what fails."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import redis

from roastbot.keys import RedisKeys
from roastbot.outcomes import ExternalError, Permanent
from roastbot.settings import Settings


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    warning: str = ""  # passed, but something an operator should change


def check_kafka(settings: Settings) -> Check:
    from confluent_kafka import KafkaException

    from roastbot.kafka_wiring import make_admin, under_replicated

    try:
        topics = make_admin(settings).list_topics(timeout=8).topics
    except KafkaException as error:
        return Check(
            "kafka",
            False,
            f"{settings.kafka_bootstrap_servers} unreachable: {error}",
            "start Kafka (`make up` runs scripts/services.py) or fix KAFKA_BOOTSTRAP_SERVERS",
        )
    missing = [t for t in (settings.kafka_topic_mentions, settings.kafka_topic_dlq) if t not in topics]
    if missing:
        return Check(
            "kafka",
            False,
            f"topics missing: {', '.join(missing)}",
            "start a worker once (it creates them) or run `make up`",
        )
    partitions = len(topics[settings.kafka_topic_mentions].partitions)
    lagging = under_replicated(settings, topics)
    warning = (
        f"{len(lagging)} under-replicated partitions (fewer in-sync replicas than replicas: a "
        f"broker is down or behind): {', '.join(lagging[:10])}"
        if lagging
        else ""
    )
    return Check(
        "kafka",
        True,
        f"{settings.kafka_bootstrap_servers}: topics present, {partitions} partitions",
        warning=warning,
    )


def check_redis(settings: Settings) -> Check:
    from roastbot.redis_conn import connect_redis, primaries_info

    try:
        client = connect_redis(settings)
        client.ping()
        persistence = primaries_info(client, "persistence")
    except redis.RedisError as error:
        return Check("redis", False, f"unreachable: {error}", "start Redis (`make up`) or fix REDIS_URL")
    # On a cluster every primary must keep an AOF: each holds part of the slots.
    aof = all(info.get("aof_enabled") == 1 for info in persistence.values())
    rdb = all(info.get("rdb_last_save_time") for info in persistence.values())
    cluster = f" (cluster, {len(persistence)} primaries)" if settings.redis_cluster else ""
    if not aof:
        return Check(
            "redis",
            False,
            "reachable, but AOF persistence is off: since_id and mention states could be lost on a restart",
            "enable appendonly yes (appendfsync everysec)",
        )
    return Check(
        "redis",
        True,
        f"reachable{cluster}, AOF on{', RDB snapshots' if rdb else ''}",
        warning=_open_redis_warning(settings),
    )


def _open_redis_warning(settings: Settings) -> str:
    """A warning when Redis answers a client that gives no password."""
    from roastbot.local_redis import without_credentials

    if urlsplit(settings.redis_url).scheme not in {"redis", "rediss"}:
        return ""
    stranger = redis.Redis.from_url(
        without_credentials(settings.redis_url), socket_timeout=3.0, socket_connect_timeout=3.0
    )
    try:
        stranger.ping()
    except redis.RedisError:
        return ""  # it asks for a password (or is gone): nothing to warn about
    finally:
        stranger.close()
    return (
        "Redis answers without a password: anyone who reaches it can read and change the bot's "
        "state. Restart it with scripts/services.py (it sets a generated password), or give yours "
        "an ACL user or requirepass and put the password in REDIS_URL"
    )


def check_x(settings: Settings) -> Check:
    from roastbot.quota import QuotaBook
    from roastbot.redis_conn import connect_redis
    from roastbot.x_gateway import XGateway

    where = settings.x_api_base_url or "api.x.com"
    needed = ["X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"]
    missing = [name for name in needed if not getattr(settings, name.lower()).get_secret_value()]
    if missing:
        return Check(
            "x",
            False,
            f"missing credentials: {', '.join(missing)}",
            "create an X app with Read and Write permission and put its keys in .env (README: Real mode)",
        )
    quota_book = None
    try:
        client = connect_redis(settings)
        client.ping()
        quota_book = QuotaBook(client, RedisKeys.of(settings))
    except redis.RedisError:
        pass
    try:
        bot = XGateway(settings, quota_book).bot_user()
    except Permanent as error:
        return Check(
            "x",
            False,
            f"{where}: {error.reason}",
            "check the four OAuth 1.0a values in .env; "
            "regenerate the access token after giving the app Read and Write permission",
        )
    except ExternalError as error:
        return Check("x", False, f"{where}: {error.reason}", "X is unreachable or refusing; retry later")
    headroom = ""
    if quota_book is not None:
        parts = []
        for endpoint in ("mentions", "post"):
            snapshot = quota_book.snapshot(endpoint)
            if snapshot.remaining is not None:
                reset = time.strftime("%H:%M:%S", time.localtime(snapshot.reset or 0))
                parts.append(f"{endpoint} {snapshot.remaining}/{snapshot.limit} until {reset}")
        headroom = "; quota " + (", ".join(parts) if parts else "not seen yet")
    return Check("x", True, f"{where}: authenticated as @{bot.username} (id {bot.id}){headroom}")


ROASTER_FIXES = {
    "together": "check TOGETHER_API_KEY, TOGETHER_BASE_URL (no /v1) and ROAST_MODEL",
    "openai": "check LLM_BASE_URL (the API root, usually ending in /v1), LLM_API_KEY and ROAST_MODEL "
    "(a model the endpoint serves: `ollama list` for Ollama)",
    "offline": "the offline roaster needs nothing: report this as a bug",
}
GUARD_FIX = "check GUARD_MODEL (and GUARD_BASE_URL/GUARD_API_KEY when set), or leave GUARD_MODEL empty"


def check_roaster(settings: Settings) -> Check:
    from roastbot.roasting import RoastRequest, generate_safe_roast, roaster_from_settings

    kind = settings.roaster or "offline"
    fix = ROASTER_FIXES.get(kind, "check ROASTER")
    guard = f", guard {settings.guard_model}" if settings.guard_model else ""
    try:
        roaster = roaster_from_settings(settings)
        request = RoastRequest(
            mention_id="1", text="@roastbot roast my 14 browser tabs", author_username="doctor"
        )
        result = generate_safe_roast(roaster, request, "doctor", max_attempts=settings.roast_max_attempts)
    except ExternalError as error:
        # The pipeline's errors name their caller: "guard ..." is the guard model's endpoint.
        guard_failed = error.reason.startswith("guard") or getattr(error, "code", "").startswith("guard_")
        return Check("roaster", False, f"{kind}{guard}: {error.reason}", GUARD_FIX if guard_failed else fix)
    if result.draft is None:
        return Check(
            "roaster",
            False,
            f"{kind}{guard}: every draft refused ({', '.join(result.reasons)})",
            "try another ROAST_MODEL" + (" or GUARD_MODEL" if guard else ""),
        )
    draft = result.draft
    version = f", prompt {draft.prompt_version}" if draft.prompt_version else ""
    return Check("roaster", True, f"{kind} ({draft.model}{version}{guard}): {draft.text[:60]!r}")


def check_supervisor(settings: Settings) -> Check:
    from urllib.parse import urlsplit

    from roastbot.supervisor_rpc import SupervisorClient, SupervisorUnavailable

    where = urlsplit(settings.supervisor_url).netloc
    client = SupervisorClient(
        settings.supervisor_url, settings.supervisor_user, settings.supervisor_password.get_secret_value()
    )
    try:
        programs = client.programs()
    except SupervisorUnavailable as error:
        return Check(
            "supervisor",
            False,
            f"{where}: {error}",
            "start the stack with `make up`, or set SUPERVISOR_URL/SUPERVISOR_PASSWORD",
        )
    down = [p.name for p in programs if not p.running]
    if down:
        return Check(
            "supervisor",
            False,
            f"not running: {', '.join(down)}",
            "see var/log/<program>.log, then `supervisorctl -c supervisord.conf start <program>`",
        )
    return Check("supervisor", True, f"{len(programs)} programs RUNNING")


def check_prices(settings: Settings) -> Check:
    """Passes always (the bot runs without prices); warns about each price that is missing or
    zero, since the ledger and the daily budget would count that item as free."""
    x_prices = [
        "price_x_reply_usd",
        "price_x_post_usd",
        "price_x_post_with_url_usd",
        "price_x_read_per_post_usd",
        "price_x_other_read_per_post_usd",
    ]
    problems = [f"{name.upper()} is 0" for name in x_prices if not getattr(settings, name)]
    models = {"ROAST_MODEL": settings.roast_model} if settings.roaster != "offline" else {}
    if settings.guard_model:  # the guard's calls are billed too, at its own model's price
        models["GUARD_MODEL"] = settings.guard_model
    for setting, model in models.items():
        price = settings.llm_prices_usd_per_mtok.get(model)
        if price is None:
            problems.append(f"LLM_PRICES_USD_PER_MTOK has no price for {setting} {model}")
        elif not all(price):
            problems.append(f"LLM_PRICES_USD_PER_MTOK prices {model} at 0")
    budget = "no cap" if settings.daily_budget_usd is None else f"${settings.daily_budget_usd:g} a day"
    warning = ""
    if problems:
        warning = "; ".join(problems) + ": spend and the daily budget count it as free (see .env.example)"
    return Check("prices", True, f"DAILY_BUDGET_USD: {budget}", warning=warning)


CHECKS: list[Callable[[Settings], Check]] = [
    check_redis,
    check_kafka,
    check_x,
    check_roaster,
    check_supervisor,
    check_prices,
]


def run_doctor(settings: Settings, skip: set[str] = frozenset()) -> list[Check]:  # type: ignore[assignment]
    results = []
    for check in CHECKS:
        name = check.__name__.removeprefix("check_")
        if name in skip:
            continue
        try:
            results.append(check(settings))
        except Exception as error:  # a check must report, never crash the doctor
            results.append(Check(name, False, f"check crashed: {type(error).__name__}: {error}"))
    return results


def main(argv: list[str]) -> int:
    from roastbot.settings import ConfigError, load_settings

    try:
        settings = load_settings()
    except ConfigError:
        print("FAIL config      see the lines above; fix the named variables in .env or the environment")
        return 1
    mode = f"sandbox ({settings.x_api_base_url})" if settings.sandbox_mode else "real X API"
    print(f"PASS config      {mode}, roaster {settings.roaster}")
    skip = {name.removeprefix("--skip-") for name in argv if name.startswith("--skip-")}
    results = run_doctor(settings, skip)
    for result in results:
        print(f"{'PASS' if result.ok else 'FAIL'} {result.name:<11} {result.detail}")
        if not result.ok and result.fix:
            print(f"     {'':<11} fix: {result.fix}")
        if result.warning:
            print(f"WARN {result.name:<11} {result.warning}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
