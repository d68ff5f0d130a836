"""The ``ringfence`` command line: parse, make one service call, render.

Each command group lives in its own module with a ``register(sub)`` function.
Errors are mapped to exit codes in exactly one place, :func:`main`.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from vault import __version__
from vault.errors import RingfenceError, StorageError, UsageError
from vault.safetext import shown_lines

#: The command modules, imported when the parser is built (inside main's
#: error handling, so Ctrl-C there is one line, not a traceback). Each imports
#: only argparse helpers at the top; what a command uses is imported when it runs.
MODULES = (
    "cmd_keys",
    "cmd_clips",
    "cmd_daemon",
    "cmd_requests",
    "cmd_audit",
    "cmd_retention",
    "cmd_witness",
    "cmd_backup",
)


def _global_options(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--vault",
        metavar="DIR",
        default=default,
        help="the vault folder (env RINGFENCE_VAULT; default: the user data folder)",
    )
    parser.add_argument(
        "--passphrase-file",
        metavar="FILE",
        default=default,
        help="read the owner's passphrase from FILE (never give it as an argument)",
    )


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.prog != "ringfence":
            # The global options are also accepted after the command name
            # (`ringfence status --vault X`); given there, they win.
            _global_options(self, argparse.SUPPRESS)

    def error(self, message: str) -> None:  # type: ignore[override]
        # main() already says "ringfence: "; name only the subcommand, if any.
        command = self.prog.removeprefix("ringfence").strip()
        raise UsageError(f"{command}: {message}" if command else message)


def build_parser() -> argparse.ArgumentParser:
    import logging
    from importlib.metadata import entry_points

    parser = _Parser(
        prog="ringfence",
        description="A local-first vault for home camera footage.",
    )
    parser.add_argument("--version", action="version", version=f"ringfence {__version__}")
    _global_options(parser, None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in MODULES:
        importlib.import_module(f"vault.cli.{name}").register(sub)
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


def _printable(message: str) -> str:
    """An error message with the terminal escapes, controls and bidi characters
    a file name or a request field may carry shown as escapes (its own line
    breaks kept): the last guard for names that were not escaped where quoted."""
    return "\n".join(shown_lines(message))


def main(argv: Sequence[str] | None = None) -> int:
    # Ctrl-C anywhere, also while an error is being reported, is one line.
    try:
        return _run(argv)
    except KeyboardInterrupt:
        print("ringfence: interrupted", file=sys.stderr)
        return 130


def _run(argv: Sequence[str] | None) -> int:
    try:
        import logging  # here, not at the top: Ctrl-C while it loads is one line too

        logging.basicConfig(
            level=os.environ.get("RINGFENCE_LOG", "INFO").upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
        logging.getLogger("alembic").setLevel(logging.WARNING)
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:  # a bare `ringfence`: say what there is to do
            parser.print_help()
            return 0
        return int(args.func(args) or 0)
    except RingfenceError as exc:  # CommandError included: it carries its own code
        print(f"ringfence: {_printable(exc.message)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ringfence: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # stdout closed early (e.g. piped into head): not an error of ours.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except Exception as exc:
        # SQLite's SQLITE_FULL, from any command: the storage error, not a traceback.
        if "database or disk is full" not in str(getattr(exc, "orig", exc)):
            raise
        print("ringfence: cannot write the catalog: the disk is full", file=sys.stderr)
        return StorageError.exit_code
