"""redis-server: the binary (Debian's, installed when missing and we are root), its config, the server."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

from roastbot.local_redis import redacted_url
from scripts.local_services.config import (
    LOCAL_HOSTS,
    REDIS_TEMPLATE,
    Config,
    ServiceError,
    relative,
    render_template,
    say,
)
from scripts.local_services.lifecycle import Service
from scripts.local_services.processes import (
    launch_detached,
    process_args,
    process_cwd,
    tail,
    tcp_open,
    write_pid,
)

REDIS_START_DEADLINE_S = 20.0
REDIS_STOP_DEADLINE_S = 20.0


class Redis(Service):
    name = "redis"
    start_deadline_s = REDIS_START_DEADLINE_S
    stop_deadline_s = REDIS_STOP_DEADLINE_S

    @property
    def pid_file(self) -> Path:
        return self.cfg.redis_pid_file

    @property
    def log_file(self) -> Path:
        return self.cfg.redis_log

    @property
    def address(self) -> str:
        return redacted_url(self.cfg.redis_url)

    def is_ours(self, pid: int) -> bool:
        # Redis rewrites its argv into a title ("/usr/bin/redis-server 127.0.0.1:6379"), so the
        # config path is gone from cmdline: its working directory (our `dir`) identifies it.
        if "redis-server" not in " ".join(process_args(pid)):
            return False
        cwd = process_cwd(pid)
        return cwd is not None and cwd == self.cfg.redis_dir.resolve()

    def answers(self) -> bool:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        client = redis.Redis.from_url(
            self.cfg.redis_url, socket_connect_timeout=1.0, socket_timeout=2.0, retry=Retry(NoBackoff(), 0)
        )
        try:
            return bool(client.ping())
        except (redis.RedisError, OSError):
            return False
        finally:
            client.close()

    def logs_for_failure(self) -> str:
        return tail(self.cfg.redis_log) + tail(self.cfg.redis_out, 10)

    def launch(self) -> int:
        cfg = self.cfg
        parts = urlsplit(cfg.redis_url)
        if parts.scheme != "redis" or cfg.redis_host not in LOCAL_HOSTS:
            raise ServiceError(
                f"nothing answers at {self.address} and it is not a local redis:// address, so there is nothing "
                "we can start: start that Redis, or unset REDIS_URL to use a local one"
            )
        if tcp_open("127.0.0.1", cfg.redis_port):
            raise ServiceError(
                f"port {cfg.redis_port} is taken by something that does not answer PING at {self.address} "
                "(another program, or a Redis with a password): free the port or change REDIS_URL"
            )
        binary = ensure_redis_binary(cfg)
        cfg.redis_dir.mkdir(parents=True, exist_ok=True)
        render_template(
            REDIS_TEMPLATE,
            cfg.redis_conf,
            port=cfg.redis_port,
            pidfile=cfg.redis_pid_file,
            logfile=cfg.redis_log,
            dir=cfg.redis_dir,
            user=parts.username or "default",
            password=f">{unquote(parts.password)}" if parts.password else "nopass",
            cluster_rules="",
        )
        say(
            self.name,
            f"starting {binary} on 127.0.0.1:{cfg.redis_port} (AOF, data {relative(cfg.redis_dir)})",
        )
        pid = launch_detached([binary, str(cfg.redis_conf)], cfg.redis_out, cfg.redis_dir)
        write_pid(self.pid_file, pid)
        return pid


def ensure_redis_binary(cfg: Config) -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise ServiceError(
            "redis-server is not on PATH and cannot be installed here (needs root and apt-get): "
            "install it with `sudo apt-get install redis-server` (or `sudo bash scripts/system-deps.sh`), "
            "or set REDIS_URL to a Redis that already runs"
        )
    install_redis_from_debian(cfg)
    found = shutil.which("redis-server")
    if not found:
        raise ServiceError(
            f"apt-get installed redis-server but it is not on PATH; see {cfg.log_dir / 'apt.log'}"
        )
    return found


def install_redis_from_debian(cfg: Config) -> None:
    """apt-get install redis-server without letting Debian's own service run on 6379."""
    log = cfg.log_dir / "apt.log"
    say("redis", f"redis-server not on PATH: installing Debian's redis-server (apt-get; log {log})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    policy = Path("/usr/sbin/policy-rc.d")  # exit 101 = "do not start services" for invoke-rc.d
    created = False
    if not policy.exists():
        policy.write_text(
            "#!/bin/sh\n# scripts/services.py: no service starts while it installs redis-server\nexit 101\n"
        )
        policy.chmod(0o755)
        created = True
    apt = ["apt-get", "-q", "-o", "DPkg::Lock::Timeout=300"]
    try:
        with log.open("a") as out:
            for step in (["update"], ["install", "-y", "--no-install-recommends", "redis-server"]):
                result = subprocess.run(
                    [*apt, *step],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    check=False,
                )
                if result.returncode != 0:
                    raise ServiceError(
                        f"apt-get {step[0]} failed (exit {result.returncode}); see {log}" + tail(log)
                    )
    finally:
        if created:
            policy.unlink(missing_ok=True)
    # On a machine with systemd the unit is enabled for the next boot and may have started anyway:
    # stop and disable it, our own redis-server runs instead.
    with open(os.devnull, "w") as devnull:
        if Path("/run/systemd/system").is_dir() and shutil.which("systemctl"):
            subprocess.run(
                ["systemctl", "disable", "--now", "redis-server"], stdout=devnull, stderr=devnull, check=False
            )
        elif shutil.which("service"):
            subprocess.run(["service", "redis-server", "stop"], stdout=devnull, stderr=devnull, check=False)
        if shutil.which("update-rc.d"):
            subprocess.run(
                ["update-rc.d", "redis-server", "disable"], stdout=devnull, stderr=devnull, check=False
            )
    say("redis", "installed redis-server; Debian's own redis-server service is kept off")
