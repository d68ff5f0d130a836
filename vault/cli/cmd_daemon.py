"""`daemon` and `quickstart` (what `make run` starts)."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path

from vault.cli.common import open_vault, passphrase_source, vault_root
from vault.config import Layout, default_vault_dir
from vault.daemon import Daemon, DaemonOptions, install_stop_signals
from vault.errors import NotFound
from vault.service import Vault

log = logging.getLogger("ringfence.daemon")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("daemon", help="watch the drop folders and seal every clip")
    p.add_argument(
        "--once", action="store_true", help="seal everything that is ready now, then exit"
    )
    p.add_argument(
        "--settle",
        type=float,
        metavar="SECONDS",
        default=None,
        help="how long a file must be still before it counts as finished "
        "when no close event was seen (default 5; 0 with --once)",
    )
    p.add_argument(
        "--rescan",
        type=float,
        metavar="SECONDS",
        default=30.0,
        help="how often to rescan the folders (default 30)",
    )
    p.set_defaults(func=cmd_daemon)

    p = sub.add_parser(
        "quickstart", help="create a default vault and camera if needed, then run the daemon"
    )
    p.add_argument(
        "--drop",
        type=Path,
        required=True,
        metavar="DIR",
        help="the drop folder of the default camera",
    )
    p.add_argument("--kdf-log-n", type=int, default=18, metavar="N")
    p.set_defaults(func=cmd_quickstart)


def _options(args: argparse.Namespace) -> DaemonOptions:
    settle = args.settle if args.settle is not None else (0.0 if args.once else 5.0)
    return DaemonOptions(settle_seconds=settle, rescan_seconds=args.rescan, once=args.once)


def cmd_daemon(args: argparse.Namespace) -> int:
    # Stop signals are caught before the catalog is even opened: SIGTERM at
    # any moment of start-up ends the daemon after its current step, exit 0.
    stop = threading.Event()
    install_stop_signals(stop)
    log.debug("start-up: opening the vault")
    vault = open_vault(args, actor="daemon")
    return Daemon(vault, _options(args), stop=stop).run()


def cmd_quickstart(args: argparse.Namespace) -> int:
    root = vault_root(args) or default_vault_dir()
    if not Layout(root).config.exists():
        print(f"creating a new vault at {root}", file=sys.stderr)
        vault = Vault.init(
            root,
            passphrase_source(args).get_new("New passphrase for the vault"),
            log_n=args.kdf_log_n,
        )
        vault.close()
    # From here on a stop is clean (the passphrase prompt above keeps Ctrl-C).
    stop = threading.Event()
    install_stop_signals(stop)
    vault = open_vault(args, actor="daemon")
    drop = args.drop.expanduser().absolute()
    try:
        vault.camera("default")
    except NotFound:
        vault.add_camera("default", drop)
    print(f"vault:       {root}", file=sys.stderr)
    print(f"drop clips into: {drop}", file=sys.stderr)
    print("the daemon seals each clip and removes the plaintext; Ctrl-C stops it.", file=sys.stderr)
    args.once = False
    args.settle = None
    args.rescan = 30.0
    return Daemon(vault, _options(args), stop=stop).run()
