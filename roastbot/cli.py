"""`roastbot`: the operator's command line (installed by `pip install -e .`; also `python -m roastbot`).

    roastbot doctor [--skip-redis ...]   check every dependency, say how to fix what fails
    roastbot status                      the stack's mode, programs, holds and switches
    roastbot pause | resume              stop or restart the consumers' work (a run-time switch)
    roastbot fetch-now                   wake the producer for an immediate poll of X
    roastbot hold --reason TEXT | lift   hold posting for everyone, or lift every hold
    roastbot dead-letters                list dead letters (newest first) with their coordinates
    roastbot replay COORDINATES... | --all   publish dead letters back to the mentions topic

Settings come from the environment, the running stack's var/run/stack.env, then .env
(roastbot/settings.py): run it from the project root, as `make up` was.
"""

from __future__ import annotations

import argparse
import sys
import time

from roastbot.settings import ConfigError, Settings, load_settings

SKIPPABLE = ("redis", "kafka", "x", "roaster", "supervisor")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roastbot", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    doctor = commands.add_parser("doctor", help="check every dependency and say how to fix what fails")
    for name in SKIPPABLE:
        doctor.add_argument(f"--skip-{name}", action="store_true", help=f"do not check {name}")
    commands.add_parser("status", help="the stack's mode, programs, holds and switches")
    commands.add_parser("pause", help="pause the consumers (mentions wait in Kafka)")
    commands.add_parser("resume", help="resume the consumers")
    commands.add_parser("fetch-now", help="ask the producer to poll X now")
    hold = commands.add_parser("hold", help="hold posting for every consumer until `roastbot lift`")
    hold.add_argument("--reason", required=True, help="why, for the console's banner and the audit log")
    commands.add_parser("lift", help="lift every hold (the operator's and those the bot raised)")
    commands.add_parser("dead-letters", help="list dead letters with their coordinates")
    replay = commands.add_parser("replay", help="publish dead letters back to the mentions topic")
    replay.add_argument("coordinates", nargs="*", help="topic:partition:offset, as `dead-letters` lists")
    replay.add_argument("--all", action="store_true", help="every dead letter `dead-letters` lists")
    return parser


def _status(settings: Settings) -> int:
    import redis

    from roastbot.control import Control
    from roastbot.holds import Holds
    from roastbot.keys import RedisKeys
    from roastbot.redis_conn import connect_redis
    from roastbot.supervisor_rpc import SupervisorClient, SupervisorUnavailable

    healthy = True
    mode = f"sandbox ({settings.x_api_base_url})" if settings.sandbox_mode else "real X API"
    print(f"mode        {mode}, roaster {settings.roaster}, key prefix {settings.redis_key_prefix}")
    client = SupervisorClient(
        settings.supervisor_url, settings.supervisor_user, settings.supervisor_password.get_secret_value()
    )
    try:
        programs = client.programs()
    except SupervisorUnavailable as error:
        print(f"supervisor  unreachable: {error} (start the stack with `make up`)")
        healthy = False
    else:
        for program in programs:
            print(f"program     {program.name:<24} {program.state}")
        healthy = healthy and all(program.running for program in programs)
    try:
        redis_client = connect_redis(settings)
        keys = RedisKeys.of(settings)
        holds = Holds(redis_client, keys).active()
        switches = Control(redis_client, keys).switches()
    except redis.RedisError as error:
        print(f"redis       unreachable: {error}")
        return 1
    for hold in holds:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(hold.since))
        print(f"hold        {hold.code} stops {hold.stops} since {since}: {hold.detail}")
    print(
        f"switches    consumers {'paused' if switches.paused else 'running'}, "
        f"approval mode {'on' if switches.approval_mode else 'off'}"
    )
    return 0 if healthy else 1


def _dead_letters(settings: Settings) -> int:
    from roastbot import dlq_admin

    try:
        letters = dlq_admin.browse(settings)
    except dlq_admin.DeadLetterBrowseError as error:
        print(f"dead letters cannot be read: {error}", file=sys.stderr)
        return 1
    for letter in letters:
        mention = letter.mention_or_none()
        print(
            f"{letter.coordinates:<32} {letter.reason:<24} mention {mention.id if mention else '(unreadable)'}"
        )
    print(f"{len(letters)} dead letters")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "doctor":
        from roastbot.doctor import main as doctor_main

        return doctor_main([f"--skip-{name}" for name in SKIPPABLE if getattr(args, f"skip_{name}")])
    try:
        settings = load_settings()
    except ConfigError:
        return 2
    if args.command == "status":
        return _status(settings)
    if args.command == "dead-letters":
        return _dead_letters(settings)
    if args.command == "replay" and not (args.coordinates or args.all):
        print(
            "roastbot replay: name dead letters (see `roastbot dead-letters`) or give --all", file=sys.stderr
        )
        return 2
    from roastbot.operations import Operations

    operations = Operations(settings)
    outcome = {
        "pause": lambda: operations.set_paused(True),
        "resume": lambda: operations.set_paused(False),
        "fetch-now": operations.fetch_now,
        "hold": lambda: operations.hold(args.reason),
        "lift": operations.lift,
        "replay": lambda: operations.replay(args.coordinates, args.all),
    }[args.command]()
    print(outcome.message, file=sys.stdout if outcome.ok else sys.stderr)
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
