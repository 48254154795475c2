"""python -m sandbox.x_api [--host H] [--port P] [--tier T] [--time-scale S]"""

from __future__ import annotations

import argparse
import logging
import os

import uvicorn

from sandbox.x_api.app import create_app
from sandbox.x_api.config import TIERS, SandboxConfig


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(prog="python -m sandbox.x_api", description="Local X API v2 sandbox")
    parser.add_argument("--host", default=env.get("X_SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env.get("X_SANDBOX_PORT", "8700")))
    parser.add_argument("--tier", choices=TIERS, default=env.get("X_SANDBOX_TIER", "unlimited"))
    parser.add_argument(
        "--time-scale",
        type=float,
        default=float(env.get("X_SANDBOX_TIME_SCALE", "1")),
        help="60 makes a 15-minute window last 15 s",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for fault dice")
    parser.add_argument("--log-level", default=env.get("X_SANDBOX_LOG_LEVEL", "info"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = SandboxConfig.from_env(
        host=args.host, port=args.port, tier=args.tier, time_scale=args.time_scale, seed=args.seed
    )
    logging.getLogger("sandbox.x_api").info(
        "X sandbox on http://%s:%d (tier %s, time scale %g, bot @%s)",
        config.host,
        config.port,
        config.tier,
        config.time_scale,
        config.bot_username,
    )
    # uvicorn's access log is off: the front door logs one line per request, without headers.
    uvicorn.run(
        create_app(config),
        host=config.host,
        port=config.port,
        log_level=args.log_level.lower(),
        access_log=False,
        workers=1,
    )


if __name__ == "__main__":
    main()
