"""Console tests: every page through AppTest against real Redis, Kafka and supervisord."""
