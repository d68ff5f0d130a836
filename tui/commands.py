"""The front-end command `tui`, plugged into the `ringfence` CLI.

The core CLI finds this module through the ``ringfence.commands`` entry point,
so ``vault`` never imports the terminal app.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vault.cli.common import open_vault, passphrase_source

PASSPHRASE_VARIABLES = (
    "RINGFENCE_PASSPHRASE_FILE",
    "RINGFENCE_PASSPHRASE_COMMAND",
    "RINGFENCE_PASSPHRASE",
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tui", help="the owner's terminal app: decide on requests, preview, export")
    p.add_argument(
        "--exports",
        type=Path,
        metavar="DIR",
        help="where export folders are suggested (default ~/ringfence-exports)",
    )
    p.set_defaults(func=cmd_tui)


@contextmanager
def logging_to_app() -> Iterator[None]:
    """While the app owns the terminal, log records go to Textual's log, not stderr."""
    from textual.logging import TextualHandler

    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = [TextualHandler()]
    try:
        yield
    finally:
        root.handlers = saved


def cmd_tui(args: argparse.Namespace) -> int:
    from tui.app import RingfenceApp, tune_gc, tune_threads
    from tui.graphics import detect

    vault = open_vault(args)
    provider = None
    if args.passphrase_file or any(v in os.environ for v in PASSPHRASE_VARIABLES):
        # A configured non-interactive source unlocks once at start; after an
        # idle lock the app asks in its own dialog.
        source = passphrase_source(args)
        source.interactive = False
        provider = source.get
    try:
        with logging_to_app():
            tune_gc()
            tune_threads()
            graphics = detect()  # before the app owns the terminal
            RingfenceApp(
                vault, export_dir=args.exports, passphrase=provider, graphics=graphics
            ).run()
    finally:
        vault.close()
    return 0
