"""tests/integration/test_mention_life.py again, on the Redis Cluster (tests/cluster/conftest.py)."""

from tests.integration.test_mention_life import *  # noqa: F403

# A TCP proxy cut in front of one node proves nothing here: the cluster client talks to the
# nodes the slot map names, not to the proxy. On a cluster the outage is a failover
# (test_redis_failover.py).
del test_a_consumer_that_loses_redis_for_good_restarts_then_exits_with_its_code  # noqa: F821
del test_an_outage_longer_than_the_patience_restarts_the_loop_in_process  # noqa: F821
