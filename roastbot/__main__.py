"""`python -m roastbot doctor [--skip-supervisor ...]`."""

from __future__ import annotations

import sys

from roastbot.doctor import main as doctor_main

USAGE = (
    "usage: python -m roastbot doctor [--skip-redis|--skip-kafka|--skip-x|--skip-roaster|--skip-supervisor]"
)


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "doctor":
        print(USAGE, file=sys.stderr)
        return 2
    return doctor_main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
