"""Local Kafka and Redis without Docker, by concern (scripts/services.py is the command line).

config          where everything lives (var and cache layout), the rendered config files
processes       pid files, process identity (psutil), detached launches, locks
lifecycle       one service's up/down/inspect, shared by Kafka and Redis
kafka_broker    Kafka from Maven Central: class path, KRaft storage, the broker
redis_server    redis-server: the binary (Debian's when missing), its config, the server
"""
