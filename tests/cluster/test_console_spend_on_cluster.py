"""tests/console/test_spend.py again, the console reading a Redis Cluster (tests/cluster/conftest.py)."""

from tests.console.test_spend import *  # noqa: F403
