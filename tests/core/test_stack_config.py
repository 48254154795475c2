"""scripts/stack.py's configuration: what supervisord.conf expands is always provided."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from roastbot.settings import Settings
from scripts import stack

HOME = Path(__file__).resolve().parents[2]

CONF_VARIABLE = re.compile(r"%\(ENV_(\w+)\)s")


def test_the_socket_lives_under_var_run_when_the_path_fits(tmp_path: Path) -> None:
    config = stack.StackConfig(var_dir=tmp_path / "var")
    assert config.supervisor_socket == tmp_path / "var" / "run" / "supervisor.sock"


def test_a_deep_var_dir_gets_a_short_socket_path_of_its_own(tmp_path: Path) -> None:
    deep = tmp_path / ("nested-directory-" * 8) / "var"
    other = tmp_path / ("nested-directory-" * 8) / "var2"
    socket = stack.StackConfig(var_dir=deep).supervisor_socket
    # supervisord refuses a Unix socket path longer than this with its pid appended.
    assert len(os.fsencode(deep / "run" / "supervisor.sock")) > stack.UNIX_SOCKET_PATH_MAX
    assert len(os.fsencode(socket)) <= stack.UNIX_SOCKET_PATH_MAX
    assert socket.parent == Path(tempfile.gettempdir())
    assert stack.StackConfig(var_dir=deep).supervisor_socket == socket, "stable for one var dir"
    assert stack.StackConfig(var_dir=other).supervisor_socket != socket, "two stacks never share one"


def test_every_variable_supervisord_conf_expands_is_set_by_the_stack_and_the_image(tmp_path: Path) -> None:
    used = set(CONF_VARIABLE.findall((HOME / "supervisord.conf").read_text()))
    assert {"ROASTBOT_VAR_DIR", "SUPERVISOR_SOCKET", "SUPERVISOR_PORT"} <= used
    environment = stack.StackConfig(var_dir=tmp_path / "var").environment(base={})
    assert used <= set(environment), f"scripts/stack.py does not set {sorted(used - set(environment))}"
    assert used <= set(stack.SUPERVISOR_VARIABLES), "scripts/supervisorctl would not see them all"
    dockerfile = (HOME / "Dockerfile").read_text()
    # The password is a secret: the container gets it at run time, never from the image.
    in_image = {name for name in used if re.search(rf"\b{name}=", dockerfile)}
    assert used - in_image == {"SUPERVISOR_PASSWORD"}, f"the Dockerfile misses {sorted(used - in_image)}"


def test_the_stack_settings_file_names_the_stack_but_holds_no_secret(tmp_path: Path) -> None:
    config = stack.StackConfig(
        var_dir=tmp_path / "var",
        x_sandbox_port=18700,
        extra_env={"REDIS_KEY_PREFIX": "mine", "TOGETHER_API_KEY": "tk-not-for-files", "ROASTER": "offline"},
    )
    (config.var_dir / "run").mkdir(parents=True)
    path = stack.write_stack_env(config)
    assert path == config.var_dir / "run" / "stack.env"
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_text()
    assert config.supervisor_password() not in text
    assert "tk-not-for-files" not in text
    # The settings module reads it after the environment and before .env.
    dotenv = tmp_path / ".env"
    dotenv.write_text("X_API_BASE_URL=http://dotenv.invalid\nROAST_SEED=4\n")
    settings = Settings(_env_file=(dotenv, path))  # type: ignore[call-arg]
    assert settings.x_api_base_url == "http://127.0.0.1:18700"
    assert (settings.redis_key_prefix, settings.roast_seed) == ("mine", 4)
    assert settings.supervisor_password.get_secret_value() == config.supervisor_password()
    assert settings.missing_x_credentials() == []  # the sandbox's published credentials
    assert settings.together_api_key.get_secret_value() == ""


def test_a_real_stack_sends_x_calls_nowhere_but_x(tmp_path: Path) -> None:
    real = stack.StackConfig(var_dir=tmp_path / "var", sandbox=False).stack_settings()
    assert "X_API_BASE_URL" not in real and "X_API_KEY" not in real
    assert real["SUPERVISOR_PASSWORD_FILE"] == str(tmp_path / "var" / "run" / "supervisor.password")
