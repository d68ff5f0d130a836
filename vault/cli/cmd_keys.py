"""`init`, `key show`, `key passwd`, `key recovery create|revoke`, `key recover`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from vault.cli.common import add_json, emit_json, open_vault, passphrase_source, vault_root
from vault.jsonout import to_json
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

    rec = ksub.add_parser("recovery", help="a recovery key as SLIP-39 word shares")
    rsub = rec.add_subparsers(dest="recovery_command", metavar="ACTION")
    rsub.required = True
    p = rsub.add_parser(
        "create", help="make a recovery key, add it to every clip, print it once as word shares"
    )
    p.add_argument(
        "--shares",
        type=int,
        default=1,
        metavar="N",
        help="how many SLIP-39 shares (default 1: a single paper key)",
    )
    p.add_argument(
        "--threshold",
        type=int,
        default=None,
        metavar="K",
        help="how many shares rebuild the key (default: all of them)",
    )
    p.add_argument("--qr", action="store_true", help="also print each share as a QR code")
    add_json(p)
    p.set_defaults(func=cmd_recovery_create)
    p = rsub.add_parser("revoke", help="remove the recovery key from every clip")
    p.add_argument(
        "recipient",
        nargs="?",
        metavar="AGE1",
        help="the recovery recipient (default: the only one)",
    )
    add_json(p)
    p.set_defaults(func=cmd_recovery_revoke)
    p = ksub.add_parser("recover", help="set a new passphrase with K recovery shares")
    p.add_argument(
        "--shares-file",
        metavar="FILE",
        help="read the shares from FILE, one per line (default: ask on the terminal, "
        "or read standard input)",
    )
    p.add_argument(
        "--new-passphrase-file",
        metavar="FILE",
        help="read the new passphrase from FILE (else RINGFENCE_NEW_PASSPHRASE_* or a prompt)",
    )
    add_json(p)
    p.set_defaults(func=cmd_key_recover)


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
        emit_json({"vault": str(vault.root), **to_json(info)})
    else:
        print(f"vault created at {vault.root}")
        print(f"owner recipient: {info.recipient}")
        print("Keep the passphrase safe: without it no clip can ever be opened.")
    return 0


def cmd_key_show(args: argparse.Namespace) -> int:
    vault = open_vault(args)
    info = vault.key_info()
    if args.json:
        emit_json(to_json(info))
    else:
        print(f"recipient:          {info.recipient}")
        for r in info.recovery_recipients:
            print(f"recovery recipient: {r}")
        print(f"signing public key: {info.signing_public_key}")
        print(f"owner verifier:     {info.owner_verifier}")
        print(f"device verifier:    {info.device_verifier}")
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


def _new_passphrase(args: argparse.Namespace) -> str:
    return PassphraseSource(
        file=Path(args.new_passphrase_file) if args.new_passphrase_file else None,
        prefix="RINGFENCE_NEW",
        env={k: v for k, v in os.environ.items() if k.startswith("RINGFENCE_NEW_")},
    ).get_new("New passphrase")


def cmd_recovery_create(args: argparse.Namespace) -> int:
    from vault.cli.common import unlocked_vault

    threshold = args.threshold if args.threshold is not None else args.shares
    vault = unlocked_vault(args)
    key = vault.recovery.create(args.shares, threshold)
    vault.close()
    if args.json:
        emit_json(to_json(key))
        return 0
    print(f"recovery recipient: {key.recipient} (added to {key.headers} header(s))")
    print(
        f"Write these down now: they are shown once and never stored. Any {key.threshold} "
        f"of the {len(key.shares)} share(s) rebuild the key; fewer reveal nothing."
    )
    for i, share in enumerate(key.shares, 1):
        print(f"\nshare {i} of {len(key.shares)}:\n{share}")
        if args.qr:
            _print_qr(share)
    if key.paper_key:
        print(f"\nthe same key for the stock `age -d -i`:\n{key.paper_key}")
        if args.qr:
            _print_qr(key.paper_key)
    return 0


def _print_qr(text: str) -> None:
    try:
        import segno
    except ImportError:
        from vault.errors import UsageError

        raise UsageError("--qr needs segno (pip install 'ringfence[witness]')") from None
    segno.make(text, error="m").terminal(compact=True)


def cmd_recovery_revoke(args: argparse.Namespace) -> int:
    from vault.cli.common import unlocked_vault

    vault = unlocked_vault(args)
    result = vault.recovery.revoke(args.recipient)
    vault.close()
    if args.json:
        emit_json(to_json(result))
    else:
        print(f"revoked {result.revoked} from {result.headers} header(s); {result.note}")
    return 0


def _read_shares(args: argparse.Namespace) -> list[str]:
    import sys

    from vault.errors import NotFound, UsageError

    if args.shares_file:
        try:
            text = Path(args.shares_file).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise NotFound(f"no file {args.shares_file}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {args.shares_file}: {exc}") from None
        return [line for line in text.splitlines() if line.strip()][:64]
    if sys.stdin.isatty():
        import getpass

        shares: list[str] = []
        while True:
            line = getpass.getpass(f"Recovery share {len(shares) + 1} (empty line when done): ")
            if not line.strip():
                return shares
            shares.append(line)
    return [line for line in sys.stdin.read(1 << 16).splitlines() if line.strip()][:64]


def cmd_key_recover(args: argparse.Namespace) -> int:
    vault = open_vault(args)
    shares = _read_shares(args)
    result = vault.recovery.recover(shares, _new_passphrase(args))
    vault.close()
    if args.json:
        emit_json(to_json(result))
    else:
        print("the owner's keys are sealed under the new passphrase")
    return 0
