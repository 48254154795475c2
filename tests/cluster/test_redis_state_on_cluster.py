"""tests/integration/test_redis_state.py again, on the Redis Cluster (tests/cluster/conftest.py)."""

from tests.integration.test_redis_state import *  # noqa: F403
