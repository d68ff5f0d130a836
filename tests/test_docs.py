"""docs/cli.md documents every command the CLI has, and nothing it lacks."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from vault.cli import build_parser

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> set[str]:
    found: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                path = (*prefix, name)
                inner = _commands(sub, path)
                found |= inner or {" ".join(path)}
    return found


def test_every_command_is_documented() -> None:
    documented = set(re.findall(r"^### ringfence (.+?)\s*$", DOC.read_text(), re.M))
    commands = _commands(build_parser())
    assert commands - documented == set(), "undocumented commands"
    assert documented - commands == set(), "documented commands that do not exist"


def test_exit_codes_table_matches_the_errors() -> None:
    from vault import errors

    text = DOC.read_text()
    codes = {
        cls.exit_code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.RingfenceError)
    }
    for code in codes:
        assert re.search(rf"^\| {code} \|", text, re.M), f"exit code {code} undocumented"
