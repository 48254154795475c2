"""tests/integration/test_budget.py again, on the Redis Cluster (tests/cluster/conftest.py)."""

from tests.integration.test_budget import *  # noqa: F403
