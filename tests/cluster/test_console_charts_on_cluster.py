"""tests/console/test_charts.py again, the console reading a Redis Cluster (tests/cluster/conftest.py)."""

from tests.console.test_charts import *  # noqa: F403
