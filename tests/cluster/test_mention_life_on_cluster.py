"""tests/integration/test_mention_life.py again, on the Redis Cluster (tests/cluster/conftest.py)."""

from tests.integration.test_mention_life import *  # noqa: F403
