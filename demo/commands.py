"""The `demo` command, plugged into the `ringfence` CLI.

The core CLI finds this module through the ``ringfence.commands`` entry point,
so ``vault`` never imports the demo.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="a throwaway vault with a synthetic camera, sample requests and the terminal app",
    )
    p.add_argument(
        "--dir",
        type=Path,
        metavar="DIR",
        help="create the demo in DIR (default: a new temporary folder)",
    )
    p.add_argument(
        "--every",
        type=float,
        default=8.0,
        metavar="SECONDS",
        help="how often the synthetic camera records a clip (default 8)",
    )
    p.add_argument("--clean", action="store_true", help="remove the demo folder when the app exits")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from demo import sample
    from tui.commands import logging_to_app

    with logging_to_app():
        return sample.run(args)
