"""Start, stop and inspect the roastbot processes under supervisord.

    python scripts/stack.py up [--real] [--consumers N]
    python scripts/stack.py down
    python scripts/stack.py status

Kafka and Redis come from scripts/services.py; this script sets the environment
supervisord.conf expects, starts supervisord, creates the topics and waits until
every program is RUNNING. Tests import it to run an isolated stack on other ports.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import xmlrpc.client
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

HOME = Path(__file__).resolve().parent.parent
if not __package__:  # run as `python scripts/stack.py`: the repository root is not on sys.path
    sys.path.insert(0, str(HOME))

import psutil  # noqa: E402
from dotenv import dotenv_values  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from roastbot.settings import SANDBOX_X_CREDENTIALS, Settings, stack_env_file  # noqa: E402

SANDBOX_ENV = {name.upper(): value for name, value in SANDBOX_X_CREDENTIALS.items()}
# sockaddr_un holds 107 bytes of path, and supervisord first binds "<socket>.<pid>" (pid up to
# 7 digits), then links it; longer, and it exits with "AF_UNIX path too long".
UNIX_SOCKET_PATH_MAX = 107 - len(".4194304")


@dataclass
class StackConfig:
    var_dir: Path = HOME / "var"
    supervisor_port: int = 9001
    x_sandbox_port: int = 8700
    llm_fake_port: int = 8701
    console_port: int = 8501
    console_address: str = "127.0.0.1"
    consumer_processes: int = 2
    sandbox: bool = True
    console: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def pid_file(self) -> Path:
        return self.var_dir / "run" / "supervisord.pid"

    @property
    def supervisor_socket(self) -> Path:
        """var/run/supervisor.sock, or a short path under the temp dir when that is too long
        for a Unix socket (a deeply nested checkout or test directory)."""
        path = self.var_dir / "run" / "supervisor.sock"
        if len(os.fsencode(path)) <= UNIX_SOCKET_PATH_MAX:
            return path
        digest = hashlib.sha256(os.fsencode(self.var_dir.resolve())).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"roastbot-{digest}.sock"

    @property
    def password_file(self) -> Path:
        return self.var_dir / "run" / "supervisor.password"

    @property
    def x_sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.x_sandbox_port}"

    @property
    def llm_fake_url(self) -> str:
        return f"http://127.0.0.1:{self.llm_fake_port}"

    def supervisor_password(self) -> str:
        """A random password made at first start, kept 0600 under var/run."""
        if not self.password_file.exists():
            self.password_file.parent.mkdir(parents=True, exist_ok=True)
            self.password_file.write_text(secrets.token_urlsafe(18))
            self.password_file.chmod(0o600)
        return self.password_file.read_text().strip()

    def overrides(self) -> dict[str, str]:
        """What this stack sets on top of the environment it is started from."""
        password = self.supervisor_password()
        values = {
            "ROASTBOT_HOME": str(HOME),
            "ROASTBOT_VAR_DIR": str(self.var_dir),
            "ROASTBOT_PYTHON": sys.executable,
            "ROASTBOT_SANDBOX": "true" if self.sandbox else "false",
            "ROASTBOT_CONSOLE": "true" if self.console else "false",
            # In sandbox mode `up` starts the workers once the sandbox answers (see up()).
            "ROASTBOT_WORKERS_AUTOSTART": "false" if self.sandbox else "true",
            "SUPERVISOR_PORT": str(self.supervisor_port),
            "SUPERVISOR_SOCKET": str(self.supervisor_socket),
            "SUPERVISOR_USER": "roastbot",
            "SUPERVISOR_PASSWORD": password,
            "SUPERVISOR_PASSWORD_FILE": str(self.password_file),
            "SUPERVISOR_URL": f"http://127.0.0.1:{self.supervisor_port}/RPC2",
            "X_SANDBOX_PORT": str(self.x_sandbox_port),
            "LLM_FAKE_PORT": str(self.llm_fake_port),
            "CONSOLE_PORT": str(self.console_port),
            "CONSOLE_ADDRESS": self.console_address,
            "CONSUMER_PROCESSES": str(self.consumer_processes),
            "PYTHONUNBUFFERED": "1",
        }
        if self.sandbox:
            # Embedded defaults: X calls go to the local sandbox with its own credentials.
            values.update(SANDBOX_ENV)
            values["X_API_BASE_URL"] = self.x_sandbox_url
            # A Together key given in sandbox mode talks to the local fake, never to Together.
            values["TOGETHER_BASE_URL"] = self.llm_fake_url
        values.update(self.extra_env)
        return values

    def environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        if self.sandbox:
            env.setdefault("POLL_INTERVAL_S", "2")
        env.update(self.overrides())
        return env

    def stack_settings(self) -> dict[str, str]:
        """The overrides that are settings, for var/run/stack.env: every command run from the
        project root (the doctor, `roastbot`, the console) then sees this stack. No secret goes
        there: the supervisor password stays in its file (SUPERVISOR_PASSWORD_FILE names it);
        the sandbox's X credentials are its published fixed values, not secrets."""
        secret_fields = {
            name for name, field in Settings.model_fields.items() if field.annotation is SecretStr
        }
        chosen = {}
        for name, value in self.overrides().items():
            field = name.lower()
            if field not in Settings.model_fields:
                continue
            if field in secret_fields and SANDBOX_X_CREDENTIALS.get(field) != value:
                continue
            chosen[name] = value
        if self.sandbox:
            chosen.setdefault("POLL_INTERVAL_S", os.environ.get("POLL_INTERVAL_S", "2"))
        return chosen

    @property
    def stack_env_file(self) -> Path:
        return stack_env_file({"ROASTBOT_VAR_DIR": str(self.var_dir)})

    def rpc(self) -> xmlrpc.client.ServerProxy:
        password = self.supervisor_password()
        url = f"http://roastbot:{password}@127.0.0.1:{self.supervisor_port}/RPC2"
        return xmlrpc.client.ServerProxy(url)


def _running_pid(config: StackConfig) -> int | None:
    try:
        pid = int(config.pid_file.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    return pid


def _wait(what: str, condition: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise TimeoutError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def _rpc_answers(config: StackConfig) -> bool:
    try:
        return config.rpc().supervisor.getState()["statename"] == "RUNNING"
    except (OSError, xmlrpc.client.Error):
        return False


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def program_states(config: StackConfig) -> dict[str, str]:
    return {f"{p['group']}:{p['name']}": p["statename"] for p in config.rpc().supervisor.getAllProcessInfo()}


def ensure_topics_with(env: Mapping[str, str]) -> None:
    """Create the topics with the application's own admin code, using the stack's settings."""
    code = (
        "from roastbot.settings import load_settings;"
        "from roastbot.kafka_wiring import ensure_topics;"
        "ensure_topics(load_settings())"
    )
    subprocess.run([sys.executable, "-c", code], cwd=HOME, env=dict(env), check=True)


# The programs that call X and the LLM (supervisord.conf): in sandbox mode up() starts them.
WORKER_GROUPS = ("producer", "tracker", "consumer")

SUPERVISOR_VARIABLES = (
    "ROASTBOT_HOME",
    "ROASTBOT_VAR_DIR",
    "ROASTBOT_PYTHON",
    "ROASTBOT_SANDBOX",
    "ROASTBOT_CONSOLE",
    "ROASTBOT_WORKERS_AUTOSTART",
    "SUPERVISOR_PORT",
    "SUPERVISOR_SOCKET",
    "SUPERVISOR_USER",
    "SUPERVISOR_PASSWORD",
    "X_SANDBOX_PORT",
    "LLM_FAKE_PORT",
    "CONSOLE_PORT",
    "CONSOLE_ADDRESS",
    "CONSUMER_PROCESSES",
)


def write_supervisorctl_env(config: StackConfig, env: Mapping[str, str]) -> Path:
    """The variables supervisord.conf expands, for scripts/supervisorctl (0600: has the password)."""
    path = config.var_dir / "run" / "supervisor.env"
    path.touch(mode=0o600, exist_ok=True)
    path.write_text("".join(f"export {name}={shlex.quote(env[name])}\n" for name in SUPERVISOR_VARIABLES))
    return path


def _dotenv_literal(value: str) -> str:
    """A single-quoted .env value: taken literally (no escapes, no ${...} interpolation)."""
    if "'" in value or "\n" in value:
        raise ValueError(f"a stack setting cannot hold a quote or a line break: {value!r}")
    return f"'{value}'"


def write_stack_env(config: StackConfig) -> Path:
    """var/run/stack.env: the stack's settings (see StackConfig.stack_settings), read by the
    settings module after the environment and before .env."""
    path = config.stack_env_file
    path.touch(mode=0o600, exist_ok=True)
    lines = "".join(
        f"{name}={_dotenv_literal(value)}\n" for name, value in sorted(config.stack_settings().items())
    )
    path.write_text(f"# Written by scripts/stack.py up for the stack it started; removed by down.\n{lines}")
    return path


def up(config: StackConfig, timeout_s: float = 90.0) -> None:
    for folder in ("run", "log"):
        (config.var_dir / folder).mkdir(parents=True, exist_ok=True)
    env = config.environment()
    ensure_topics_with(env)
    if _running_pid(config) and _rpc_answers(config):
        print(f"supervisord: already running (pid {_running_pid(config)}); starting any stopped program")
        # Its programs keep the environment they started with: so do the files that describe it.
        if not config.stack_env_file.exists():
            write_stack_env(config)
        elif dotenv_values(config.stack_env_file) != config.stack_settings():
            print(
                "supervisord: it runs with other settings than these (sandbox or real, ports; see "
                f"{config.stack_env_file}): `make down` first to change them"
            )
        if not (config.var_dir / "run" / "supervisor.env").exists():
            write_supervisorctl_env(config, env)
        config.rpc().supervisor.startAllProcesses(True)
    else:
        write_supervisorctl_env(config, env)
        write_stack_env(config)
        subprocess.run(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(HOME / "supervisord.conf")],
            cwd=HOME,
            env=env,
            check=True,
        )
        _wait("supervisord's XML-RPC", lambda: _rpc_answers(config), 30)
    started = time.monotonic()

    def raise_if_failing(states: dict[str, str]) -> None:
        failed = [name for name, state in states.items() if state in {"FATAL", "BACKOFF"}]
        if failed and time.monotonic() > started + 30:
            raise RuntimeError(f"programs failing: {failed}; see {config.var_dir / 'log'}")

    def answers_unless_failing(url: str) -> bool:
        raise_if_failing(program_states(config))
        return _answers(f"{url}/sandbox/health")

    if config.sandbox:
        # RUNNING in Supervisor's eyes comes before the servers listen; on a loaded machine their
        # imports alone can take half a minute, so they share the start-up budget, not 30 s each.
        for url in (config.x_sandbox_url, config.llm_fake_url):
            left_s = max(10.0, timeout_s - (time.monotonic() - started))
            _wait(f"{url} to answer", lambda url=url: answers_unless_failing(url), left_s)
        # Only now the workers (autostart is off for them in sandbox mode): their first calls
        # find the servers listening instead of counting a connection error on the console.
        rpc = config.rpc().supervisor
        for group in WORKER_GROUPS:
            rpc.startProcessGroup(group, False)
    expected = {"x_sandbox", "llm_fake"} if config.sandbox else set()

    def all_running() -> bool:
        states = program_states(config)
        raise_if_failing(states)
        wanted = [n for n in states if config.console or not n.startswith("console")]
        missing = expected - {name.split(":")[0] for name in states}
        return not missing and all(states[n] == "RUNNING" for n in wanted)

    _wait("every program RUNNING", all_running, max(10.0, timeout_s - (time.monotonic() - started)))
    for name, state in sorted(program_states(config).items()):
        print(f"  {name:<24} {state}")
    if config.supervisor_socket != config.var_dir / "run" / "supervisor.sock":
        print(
            f"supervisorctl: this checkout's path is too long for var/run/supervisor.sock; use "
            f"scripts/supervisorctl (or supervisorctl -s unix://{config.supervisor_socket})"
        )
    if config.console:
        print(f"console: http://{config.console_address}:{config.console_port}")
    if config.sandbox:
        print(f"X sandbox: {config.x_sandbox_url}/sandbox/stats   LLM fake: {config.llm_fake_url}")


def down(config: StackConfig, timeout_s: float = 60.0) -> None:
    config.stack_env_file.unlink(missing_ok=True)  # commands see no stack once it stops
    pid = _running_pid(config)
    if pid is None:
        print("supervisord: not running")
        return
    try:
        config.rpc().supervisor.shutdown()
    except (OSError, xmlrpc.client.Error):
        os.kill(pid, signal.SIGTERM)
    # Wait for the process, not its pid file: supervisord removes the file before it has
    # finished stopping its programs and exiting.
    try:
        _wait("supervisord to exit", lambda: not _process_alive(pid), timeout_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    print("supervisord: stopped")


def _process_alive(pid: int) -> bool:
    """Whether ``pid`` is a process that has not exited (a zombie has)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def status(config: StackConfig) -> int:
    if _running_pid(config) is None or not _rpc_answers(config):
        print("supervisord: not running")
        return 1
    states = program_states(config)
    for name, state in sorted(states.items()):
        print(f"  {name:<24} {state}")
    return 0 if all(s == "RUNNING" for s in states.values()) else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument(
        "--real", action="store_true", help="talk to the real X and LLM (credentials from .env)"
    )
    parser.add_argument("--consumers", type=int, default=int(os.environ.get("CONSUMER_PROCESSES", "2")))
    args = parser.parse_args()
    config = StackConfig(sandbox=not args.real, consumer_processes=args.consumers)
    if args.action == "up":
        up(config)
    elif args.action == "down":
        down(config)
    else:
        return status(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
