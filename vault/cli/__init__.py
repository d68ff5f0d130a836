"""The ``ringfence`` command line: parse, make one service call, render.

Each command group lives in its own module with a ``register(sub)`` function.
Errors are mapped to exit codes in exactly one place, :func:`main`.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from vault import __version__
from vault.cli import cmd_audit, cmd_clips, cmd_daemon, cmd_keys, cmd_requests, cmd_retention
from vault.cli.common import CommandError
from vault.errors import RingfenceError, StorageError, UsageError

MODULES = [cmd_keys, cmd_clips, cmd_daemon, cmd_requests, cmd_audit, cmd_retention]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # main() already says "ringfence: "; name only the subcommand, if any.
        command = self.prog.removeprefix("ringfence").strip()
        raise UsageError(f"{command}: {message}" if command else message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ringfence",
        description="A local-first vault for home camera footage.",
    )
    parser.add_argument("--version", action="version", version=f"ringfence {__version__}")
    parser.add_argument(
        "--vault",
        metavar="DIR",
        help="the vault folder (env RINGFENCE_VAULT; default: the user data folder)",
    )
    parser.add_argument(
        "--passphrase-file",
        metavar="FILE",
        help="read the owner's passphrase from FILE (never give it as an argument)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module in MODULES:
        module.register(sub)
    for plugin in entry_points(group="ringfence.commands"):
        # Front ends (the terminal app) add their commands here, so the core
        # never imports them. A broken front end must not take the core down.
        try:
            plugin.load()(sub)
        except (ImportError, AttributeError) as exc:
            logging.getLogger("ringfence").warning(
                "the %r commands are unavailable: %s", plugin.name, exc
            )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=os.environ.get("RINGFENCE_LOG", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except CommandError as exc:
        print(f"ringfence: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except RingfenceError as exc:
        print(f"ringfence: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ringfence: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        # SQLite's SQLITE_FULL, from any command: the storage error, not a traceback.
        if "database or disk is full" not in str(getattr(exc, "orig", exc)):
            raise
        print("ringfence: cannot write the catalog: the disk is full", file=sys.stderr)
        return StorageError.exit_code
    except BrokenPipeError:
        # stdout closed early (e.g. piped into head): not an error of ours.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
