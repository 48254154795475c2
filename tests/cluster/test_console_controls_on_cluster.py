"""tests/console/test_controls.py again, the console reading a Redis Cluster (tests/cluster/conftest.py)."""

from tests.console.test_controls import *  # noqa: F403
