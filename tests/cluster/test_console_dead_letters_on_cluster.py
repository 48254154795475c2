"""tests/console/test_dead_letters.py again, the console reading a Redis Cluster (tests/cluster/conftest.py)."""

from tests.console.test_dead_letters import *  # noqa: F403
