"""tests/integration/test_consumer.py again, on the Redis Cluster (tests/cluster/conftest.py)."""

from tests.integration.test_consumer import *  # noqa: F403
