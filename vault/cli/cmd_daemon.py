"""`daemon` and `quickstart` (what `make run` starts)."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from vault.cli.common import open_vault, passphrase_source, vault_root
from vault.config import Layout, default_drop_dir, default_vault_dir
from vault.errors import NotFound

if TYPE_CHECKING:
    from vault.ingest.daemon import DaemonOptions
    from vault.service import Vault

log = logging.getLogger("ringfence.daemon")


def register(sub: argparse._SubParsersAction) -> None:
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
    p.add_argument(
        "--ftp-listen",
        metavar="HOST:PORT",
        help="run the FTP/FTPS receiver on this address for this run ([ftp] in config.toml "
        "otherwise; off unless one of them is given)",
    )
    p.set_defaults(func=cmd_daemon)

    p = sub.add_parser(
        "quickstart", help="create a default vault and camera if needed, then run the daemon"
    )
    p.add_argument(
        "--drop",
        type=Path,
        metavar="DIR",
        help="the drop folder of the default camera; changes it on an existing vault "
        "(default: keep it; for a new camera, the user data folder's `drop`)",
    )
    p.add_argument("--kdf-log-n", type=int, default=18, metavar="N")
    p.set_defaults(func=cmd_quickstart)


def _options(args: argparse.Namespace) -> DaemonOptions:
    from vault.ingest.daemon import DaemonOptions

    settle = args.settle if args.settle is not None else (0.0 if args.once else 5.0)
    overrides = {}
    if getattr(args, "ftp_listen", None) is not None:
        from vault.config import parse_listen

        parse_listen(args.ftp_listen, "--ftp-listen")  # a typo fails before the vault opens
        overrides["ftp_listen"] = args.ftp_listen
    return DaemonOptions(
        settle_seconds=settle,
        rescan_seconds=args.rescan,
        once=args.once,
        receiver_overrides=overrides,
    )


def cmd_daemon(args: argparse.Namespace) -> int:
    from vault.ingest.daemon import Daemon, install_stop_signals

    # Stop signals are caught before the catalog is even opened: SIGTERM at
    # any moment of start-up ends the daemon after its current step, exit 0.
    stop = threading.Event()
    install_stop_signals(stop)
    log.debug("start-up: opening the vault")
    return Daemon(_daemon_vault(args), _options(args), stop=stop).run()


def _daemon_vault(args: argparse.Namespace) -> Vault:
    """The daemon is part of the service, not a front end: it gets the Vault itself."""
    from vault.service import Vault

    return Vault.open(vault_root(args), actor="daemon")


def cmd_quickstart(args: argparse.Namespace) -> int:
    from vault.ingest.daemon import Daemon, install_stop_signals
    from vault.service import Vault

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
    owner = open_vault(args)
    try:
        try:
            folders = owner.cameras.get("default").folders
            if args.drop is not None:
                drop = args.drop.expanduser().absolute()
                old, camera = owner.cameras.move("default", drop)
                if old != camera.folders:
                    # Said here and in the audit log (camera.changed): clips
                    # copied to the old folder now stay there.
                    print(
                        f"the default camera's drop folder changes from "
                        f"{', '.join(old) or 'none'} to {camera.folders[0]}",
                        file=sys.stderr,
                    )
                folders = camera.folders
        except NotFound:
            drop = (args.drop or default_drop_dir()).expanduser().absolute()
            folders = owner.cameras.add("default", drop).folders
    finally:
        owner.close()
    vault = _daemon_vault(args)
    print(f"vault:       {root}", file=sys.stderr)
    print(f"drop clips into: {', '.join(folders)}", file=sys.stderr)
    print("the daemon seals each clip and removes the plaintext; Ctrl-C stops it.", file=sys.stderr)
    args.once = False
    args.settle = None
    args.rescan = 30.0
    return Daemon(vault, _options(args), stop=stop).run()
