"""tests/integration/test_consumer.py again, on the Redis Cluster (tests/cluster/conftest.py)."""

from tests.integration.test_consumer import *  # noqa: F403

# A TCP proxy cut in front of one node proves nothing here: the cluster client talks to the
# nodes the slot map names, not to the proxy. On a cluster the outage is a failover
# (test_redis_failover.py).
del test_consumer_survives_redis_hiccup_in_a_handler  # noqa: F821
