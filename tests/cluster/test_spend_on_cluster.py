"""tests/integration/test_spend.py again, on the Redis Cluster (tests/cluster/conftest.py)."""

from tests.integration.test_spend import *  # noqa: F403
