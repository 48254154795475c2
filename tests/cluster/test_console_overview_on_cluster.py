"""tests/console/test_overview.py again, the console reading a Redis Cluster (tests/cluster/conftest.py)."""

from tests.console.test_overview import *  # noqa: F403
