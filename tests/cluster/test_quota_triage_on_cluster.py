"""tests/integration/test_quota_triage.py again, on the Redis Cluster (tests/cluster/conftest.py)."""

from tests.integration.test_quota_triage import *  # noqa: F403
