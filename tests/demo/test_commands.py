"""The demo is a plug-in: `ringfence demo` comes through the entry point, the product never loads it."""

from __future__ import annotations

import argparse
import subprocess
import sys

from demo.commands import cmd_demo
from vault.cli import build_parser


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_demo_is_registered_through_the_entry_point() -> None:
    commands = _subcommands(build_parser())
    assert "tui" in commands
    args = commands["demo"].parse_args(["--every", "2", "--clean"])
    assert args.func is cmd_demo
    assert (args.every, args.clean, args.dir) == (2.0, True, None)


def test_the_product_loads_without_the_demo() -> None:
    code = (
        "import sys, vault.cli, vault.service, vault.ingest.daemon, vault.media, tui.app;"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] == 'demo')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
