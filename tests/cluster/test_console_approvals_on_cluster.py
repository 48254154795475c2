"""tests/console/test_approvals.py again, the console reading a Redis Cluster (tests/cluster/conftest.py)."""

from tests.console.test_approvals import *  # noqa: F403
