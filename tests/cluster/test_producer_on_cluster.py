"""tests/integration/test_producer.py again, on the Redis Cluster (tests/cluster/conftest.py)."""

from tests.integration.test_producer import *  # noqa: F403
