"""What an operator types at a shell after `make up`, from the project root, with nothing but
the var dir to say which stack: the doctor, plain supervisorctl, the installed `roastbot`
command and plain `streamlit run app/main.py` all see the stack that runs. The doctor also
names each failure and its fix (with the stack's own settings, then broken ones).

The stack is a private one (its own var dir, ports, key prefix, topics); ROASTBOT_VAR_DIR points
at its var dir the way the default `var/` is found from the project root."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
import pytest

from roastbot.control import Control
from roastbot.holds import Holds
from roastbot.keys import RedisKeys
from roastbot.models import Mention
from roastbot.redis_conn import connect_redis
from tests.console.seeding import produce_dead_letters, read_topic
from tests.helpers import free_port, wait_for
from tests.stack_fixture import HOME, RunningStack, running_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    root = tmp_path_factory.mktemp("ops")
    with running_stack(root, consumers=1, console=True, var_dir=root / "var") as running:
        yield running


def operator_env(stack: RunningStack) -> dict[str, str]:
    """A plain shell: none of the variables the stack gave its programs, only where its var dir is."""
    given = {*stack.config.overrides(), "ROASTBOT_STACK_ENV"}  # tests/conftest.py hides stacks
    plain = {name: value for name, value in os.environ.items() if name not in given}
    return {**plain, "ROASTBOT_VAR_DIR": str(stack.config.var_dir)}


def run(command: list[str], env: dict[str, str], cwd: Path = HOME) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_the_doctor_sees_the_sandbox_stack_that_runs(stack: RunningStack) -> None:
    result = run([sys.executable, "-m", "roastbot", "doctor"], operator_env(stack))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"PASS config      sandbox ({stack.config.x_sandbox_url}), roaster offline" in result.stdout
    for check in ("redis", "kafka", "x", "roaster", "supervisor"):
        assert f"PASS {check}" in result.stdout, result.stdout
    assert stack.config.supervisor_password() not in result.stdout + result.stderr


def run_doctor(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "roastbot", "doctor"], env)


def test_doctor_passes_then_names_each_failure_and_its_fix(stack: RunningStack) -> None:
    # Only credentials and the base URL point at the sandbox: the real-mode configuration.
    env = dict(stack.env)
    healthy = run_doctor(env)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    for check in ("config", "redis", "kafka", "x", "roaster", "supervisor"):
        assert f"PASS {check}" in healthy.stdout, healthy.stdout
    assert "authenticated as @roastbot (id 1000000000000000001)" in healthy.stdout

    broken = run_doctor({**env, "X_API_SECRET": "wrong-secret", "KAFKA_TOPIC_MENTIONS": "no-such-topic"})
    assert broken.returncode == 1
    assert "FAIL x" in broken.stdout and "fix: check the four OAuth 1.0a values" in broken.stdout
    assert "FAIL kafka" in broken.stdout and "topics missing: no-such-topic" in broken.stdout
    assert "wrong-secret" not in broken.stdout + broken.stderr


def test_doctor_names_a_supervisord_that_does_not_answer(stack: RunningStack) -> None:
    # A port nothing listens on: what the doctor meets once the stack is down (connection
    # refused), without stopping the stack the other tests of this module share.
    down = run_doctor({**stack.env, "SUPERVISOR_URL": f"http://127.0.0.1:{free_port()}/RPC2"})
    assert down.returncode == 1
    assert "FAIL supervisor" in down.stdout and "make up" in down.stdout


def test_doctor_rejects_bad_configuration_by_name() -> None:
    result = run_doctor({**os.environ, "POLL_INTERVAL_S": "soon"})
    assert result.returncode == 1
    assert "POLL_INTERVAL_S" in result.stderr
    assert "FAIL config" in result.stdout


def test_plain_supervisorctl_lists_every_program_running(stack: RunningStack) -> None:
    # The project's own supervisord.conf, beside this stack's var dir as it is beside var/.
    root = stack.config.var_dir.parent
    shutil.copy(HOME / "supervisord.conf", root / "supervisord.conf")
    assert stack.config.supervisor_socket == stack.config.var_dir / "run" / "supervisor.sock"
    plain = {k: v for k, v in os.environ.items() if k not in stack.config.overrides()}
    ctl = run(
        [sys.executable, "-m", "supervisor.supervisorctl", "-c", "supervisord.conf", "status"], plain, root
    )
    assert ctl.returncode == 0, ctl.stdout + ctl.stderr
    states = stack.program_states()
    listed = {line.split()[0]: line.split()[1] for line in ctl.stdout.splitlines() if line.strip()}
    # supervisorctl names a one-process group by the group alone ("producer", "consumer:consumer_00").
    expected = {name.split(":")[1] if name.split(":")[0] == name.split(":")[1] else name for name in states}
    assert listed == dict.fromkeys(expected, "RUNNING")
    assert len(listed) == len(states) >= 5


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install -e .` into a fresh venv; the shared venv's packages stand in for the
    dependencies (a .pth file) so nothing is downloaded. Returns the venv's bin directory."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "shared-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", str(HOME)],
        {**os.environ, "PIP_NO_INDEX": "1"},
    )
    assert install.returncode == 0, install.stdout + install.stderr
    return venv / "bin"


def test_the_installed_roastbot_command_reports_and_commands_the_stack(
    stack: RunningStack, installed: Path
) -> None:
    env = operator_env(stack)
    roastbot = str(installed / "roastbot")
    helped = run([roastbot, "--help"], env)
    assert helped.returncode == 0, helped.stderr
    for command in ("doctor", "status", "pause", "resume", "hold", "lift", "dead-letters", "replay"):
        assert command in helped.stdout
    assert run([roastbot, "doctor", "--help"], env).returncode == 0

    status = run([roastbot, "status"], env)
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"mode        sandbox ({stack.config.x_sandbox_url})" in status.stdout
    for name in stack.program_states():
        assert f"program     {name:<24} RUNNING" in status.stdout

    client = connect_redis(stack.settings)
    keys = RedisKeys.of(stack.settings)
    held = run([roastbot, "hold", "--reason", "checking the account"], env)
    assert held.returncode == 0, held.stderr
    assert [(h.code, h.detail) for h in Holds(client, keys).active("posting")] == [
        ("operator", "checking the account")
    ]
    assert "hold        operator stops posting" in run([roastbot, "status"], env).stdout
    assert run([roastbot, "lift"], env).returncode == 0
    assert Holds(client, keys).active() == []
    assert run([roastbot, "pause"], env).returncode == 0
    assert Control(client, keys).switches().paused
    assert run([roastbot, "resume"], env).returncode == 0
    assert not Control(client, keys).switches().paused
    audited = [entry for _id, entry in client.xrange(keys.audit)]
    actor = f"shell:{psutil.Process().username()}"
    assert [(e["actor"], e["action"]) for e in audited] == [
        (actor, "hold_posting"),
        (actor, "lift_posting_hold"),
        (actor, "set:paused"),
        (actor, "set:paused"),
    ]


def test_the_installed_roastbot_command_lists_and_replays_a_dead_letter(
    stack: RunningStack, installed: Path
) -> None:
    env = operator_env(stack)
    roastbot = str(installed / "roastbot")
    settings = stack.settings
    now = datetime.now(UTC)
    lost = Mention(
        id="1999999999999999001", text="@roastbot roast my backups", author_id="42",
        conversation_id="1999999999999999001", created_at=now, processed_at=now,
    )  # fmt: skip
    produce_dead_letters(settings, [(lost.to_bytes(), "retries_exhausted", "post: gave up", 6)])
    coordinates = f"{settings.kafka_topic_dlq}:0:0"

    listed = run([roastbot, "dead-letters"], env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split()[:4] == [coordinates, "retries_exhausted", "mention", lost.id]
    unknown = run([roastbot, "replay", f"{settings.kafka_topic_dlq}:0:99"], env)
    assert unknown.returncode == 1 and "no such dead letter" in unknown.stderr

    replayed = run([roastbot, "replay", coordinates], env)
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.strip() == "Replayed 1 of 1 dead letters."
    published = [Mention.from_bytes(value) for value in read_topic(settings, settings.kafka_topic_mentions)]
    assert [(m.id, m.replay_of) for m in published if m.replay_of] == [(lost.id, coordinates)]


def test_plain_streamlit_run_serves_the_console_on_loopback_with_the_stack_settings(
    stack: RunningStack, installed: Path, browser: object
) -> None:
    port = free_port()
    # -I: neither the working directory nor the script's is on sys.path, as for the installed
    # `streamlit` command; only the package install makes `app` and `roastbot` importable.
    console = subprocess.Popen(
        [installed / "python", "-I", "-m", "streamlit", "run", "app/main.py", "--server.port", str(port)],
        cwd=HOME,
        env=operator_env(stack),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        process = psutil.Process(console.pid)
        listening = wait_for(
            lambda: [c.laddr for c in process.net_connections("tcp") if c.status == psutil.CONN_LISTEN],
            60,
            "the console to listen",
        )
        assert {address.ip for address in listening} == {"127.0.0.1"}
        assert {address.port for address in listening} == {port}
        wait_for(lambda: _health(port) == "ok", 60, "the console's health check")
        page = browser.new_page()  # type: ignore[attr-defined]
        page.goto(f"http://127.0.0.1:{port}/")
        page.get_by_text("sandbox mode").wait_for(timeout=60_000)
        assert "refuses to run" not in page.content()
        page.close()
    finally:
        console.terminate()
        console.wait(timeout=30)


def _health(port: int) -> str | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).text
    except httpx.HTTPError:
        return None
