"""tests/console/test_signin.py again, the console reading a Redis Cluster (tests/cluster/conftest.py)."""

from tests.console.test_signin import *  # noqa: F403
