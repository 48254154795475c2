"""scripts/stack.py's configuration: what supervisord.conf expands is always provided."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

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
