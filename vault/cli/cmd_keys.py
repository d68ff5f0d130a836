"""`init`, `key show`, `key passwd`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from vault.cli.common import add_json, emit_json, open_vault, passphrase_source, vault_root
from vault.passphrase import PassphraseSource


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="create a vault: owner keys, config, catalog")
    p.add_argument(
        "--kdf-log-n",
        type=int,
        default=18,
        metavar="N",
        help="scrypt work factor (log2 N) for the key files (default 18)",
    )
    p.add_argument(
        "--recovery-recipient",
        action="append",
        default=[],
        metavar="AGE1",
        help="also seal every clip to this age recipient (a paper backup key)",
    )
    p.add_argument(
        "--group",
        metavar="GROUP",
        help="share the vault with the daemon's system user through GROUP "
        "(the two-user deployment, docs/security.md)",
    )
    add_json(p)
    p.set_defaults(func=cmd_init)

    key = sub.add_parser("key", help="the owner's keys")
    ksub = key.add_subparsers(dest="key_command", metavar="ACTION")
    ksub.required = True
    p = ksub.add_parser("show", help="print the owner's recipient and signing public key")
    add_json(p)
    p.set_defaults(func=cmd_key_show)
    p = ksub.add_parser("passwd", help="change the passphrase (reseals only the key files)")
    p.add_argument(
        "--new-passphrase-file",
        metavar="FILE",
        help="read the new passphrase from FILE (else RINGFENCE_NEW_PASSPHRASE_* or a prompt)",
    )
    p.set_defaults(func=cmd_key_passwd)


def cmd_init(args: argparse.Namespace) -> int:
    from vault.service import Vault

    passphrase = passphrase_source(args).get_new("New passphrase for the vault")
    vault = Vault.init(
        vault_root(args),
        passphrase,
        log_n=args.kdf_log_n,
        recovery_recipients=tuple(args.recovery_recipient),
        group=args.group,
    )
    info = vault.key_info()
    vault.close()
    if args.json:
        emit_json({"vault": str(vault.root), **info})
    else:
        print(f"vault created at {vault.root}")
        print(f"owner recipient: {info['recipient']}")
        print("Keep the passphrase safe: without it no clip can ever be opened.")
    return 0


def cmd_key_show(args: argparse.Namespace) -> int:
    vault = open_vault(args)
    info = vault.key_info()
    if args.json:
        emit_json(info)
    else:
        print(f"recipient:          {info['recipient']}")
        for r in info["recovery_recipients"]:  # type: ignore[attr-defined]
            print(f"recovery recipient: {r}")
        print(f"signing public key: {info['signing_public_key']}")
        print(f"owner verifier:     {info['owner_verifier']}")
        print(f"device verifier:    {info['device_verifier']}")
    return 0


def cmd_key_passwd(args: argparse.Namespace) -> int:
    vault = open_vault(args)
    old = passphrase_source(args).get("Current passphrase")
    new_src = PassphraseSource(
        file=Path(args.new_passphrase_file) if args.new_passphrase_file else None,
        prefix="RINGFENCE_NEW",
        env={k: v for k, v in os.environ.items() if k.startswith("RINGFENCE_NEW_")},
    )
    vault.change_passphrase(old, new_src.get_new("New passphrase"))
    vault.close()
    print("passphrase changed")
    return 0
