"""Lua scripts know no state names: the transition table in roastbot/lifecycle.py decides."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from roastbot.lifecycle import State

PACKAGE = Path(__file__).resolve().parents[2] / "roastbot"


def lua_sources() -> dict[str, str]:
    """Every Lua script of the package: .lua files and Python string constants that call Redis."""
    scripts = {str(path.relative_to(PACKAGE)): path.read_text() for path in PACKAGE.rglob("*.lua")}
    for module in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "redis.call" in node.value:
                scripts[f"{module.relative_to(PACKAGE)}:{node.lineno}"] = node.value
    return scripts


def test_the_mention_scripts_are_found() -> None:
    names = lua_sources()
    assert {"lua/claim.lua", "lua/transition.lua", "lua/renew.lua"} <= set(names)


def test_no_lua_script_names_a_state() -> None:
    states = "|".join(sorted(state.value for state in State))
    quoted = re.compile(rf"""['"]({states})['"]""")
    named = {name: sorted(set(quoted.findall(text))) for name, text in lua_sources().items()}
    assert {name: found for name, found in named.items() if found} == {}
