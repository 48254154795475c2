"""`python -m roastbot ...`: the same command line as the installed `roastbot` (roastbot/cli.py)."""

from __future__ import annotations

import sys

from roastbot.cli import main

if __name__ == "__main__":
    sys.exit(main())
