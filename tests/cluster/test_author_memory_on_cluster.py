"""tests/integration/test_author_memory.py again, on the Redis Cluster (tests/cluster/conftest.py)."""

from tests.integration.test_author_memory import *  # noqa: F403
