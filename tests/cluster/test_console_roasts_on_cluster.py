"""tests/console/test_roasts.py again, the console reading a Redis Cluster (tests/cluster/conftest.py)."""

from tests.console.test_roasts import *  # noqa: F403
