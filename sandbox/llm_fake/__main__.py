"""python -m sandbox.llm_fake [--host H] [--port P] [--latency-ms MS] [--error-rate R] ...

Every option also reads LLM_FAKE_<OPTION> (LLM_FAKE_PORT, LLM_FAKE_LATENCY_MS, ...);
options given on the command line win.
"""

from __future__ import annotations

import argparse
import logging
import os

import uvicorn

from sandbox.llm_fake.app import create_app
from sandbox.llm_fake.config import GARBAGE_KINDS, UNSAFE_KINDS, FakeConfig, Faults


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox.llm_fake", description="Local LLM endpoint fake")
    parser.add_argument("--host", default=None, help="default LLM_FAKE_HOST or 127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="default LLM_FAKE_PORT or 8701")
    parser.add_argument("--seed", type=int, default=None, help="seed for the fault dice and the model")
    for name, info in Faults.model_fields.items():
        flag = f"--{name.replace('_', '-')}"
        if name == "garbage_kind":
            parser.add_argument(flag, dest=name, choices=GARBAGE_KINDS, default=None, help=info.description)
        elif name == "unsafe_kind":
            parser.add_argument(flag, dest=name, choices=UNSAFE_KINDS, default=None, help=info.description)
        else:
            parser.add_argument(flag, dest=name, type=float, default=None, help=info.description)
    parser.add_argument("--log-level", default=os.environ.get("LLM_FAKE_LOG_LEVEL", "info"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    overrides = {k: v for k, v in vars(args).items() if k != "log_level"}
    config = FakeConfig.from_env(**overrides)
    logging.getLogger("sandbox.llm_fake").info(
        "LLM fake on http://%s:%d, faults %s", config.host, config.port, config.faults.model_dump()
    )
    uvicorn.run(
        create_app(config),
        host=config.host,
        port=config.port,
        log_level=args.log_level.lower(),
        access_log=False,
    )


if __name__ == "__main__":
    main()
