"""`audit show|verify|checkpoint|prove|consistency`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vault.cli.common import CommandError, add_json, emit_json, open_vault
from vault.errors import IntegrityError, NotFound
from vault.jsonout import to_json


def register(sub: argparse._SubParsersAction) -> None:
    audit = sub.add_parser("audit", help="the tamper-evident audit log")
    asub = audit.add_subparsers(dest="audit_command", metavar="ACTION")
    asub.required = True
    p = asub.add_parser("show", help="list log entries")
    p.add_argument("--since", type=int, default=0, metavar="INDEX")
    p.add_argument("--limit", type=int, metavar="N")
    add_json(p)
    p.set_defaults(func=cmd_show)
    p = asub.add_parser("verify", help="recompute the whole log and check every checkpoint")
    add_json(p)
    p.set_defaults(func=cmd_verify)
    p = asub.add_parser("checkpoint", help="print the latest signed checkpoint")
    p.add_argument("--qr", action="store_true", help="also draw it as a QR code")
    p.add_argument("--qr-png", type=Path, metavar="FILE", help="write it as a QR code PNG")
    p.set_defaults(func=cmd_checkpoint)
    p = asub.add_parser("prove", help="print an inclusion proof (C2SP tlog-proof) of an entry")
    p.add_argument("index", type=int)
    p.set_defaults(func=cmd_prove)
    p = asub.add_parser("consistency", help="prove today's log extends an older checkpoint")
    p.add_argument(
        "file",
        type=Path,
        nargs="?",
        help="the older signed checkpoint: a checkpoint file, a receipt.json or an export folder",
    )
    p.add_argument(
        "--size",
        type=int,
        metavar="N",
        help="instead of FILE: a checkpoint "
        "typed from paper, its size (with --root, and --origin if not this vault)",
    )
    p.add_argument("--root", metavar="B64", help="the paper checkpoint's root hash")
    p.add_argument("--origin", metavar="ORIGIN", help="the paper checkpoint's origin line")
    add_json(p)
    p.set_defaults(func=cmd_consistency)


def cmd_show(args: argparse.Namespace) -> int:
    vault = open_vault(args)
    entries = vault.audit.entries(since=args.since, limit=args.limit)
    if args.json:
        emit_json([e for _i, e in entries])
        return 0
    for i, e in entries:
        details = json.dumps(e.get("details") or {}, ensure_ascii=False, sort_keys=True)
        if len(details) > 100:
            details = details[:97] + "..."
        print(
            f"{i:>7}  {e['time']}  {e['type']:<22} {e['actor']:<7} {e.get('subject') or '-'}  {details}"
        )
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    vault = open_vault(args)
    report = vault.audit.verify(vault.verifier_keys())
    if args.json:
        emit_json(to_json(report))
    elif report.ok:
        print(f"ok: {report.reason}")
    if not report.ok:
        where = (
            f"entry {report.first_bad_index}"
            if report.first_bad_index is not None
            else f"checkpoint #{report.bad_checkpoint}"
            if report.bad_checkpoint is not None
            else "the log"
        )
        raise CommandError(
            f"audit log verification failed at {where}: {report.reason}", IntegrityError.exit_code
        )
    return 0


def cmd_checkpoint(args: argparse.Namespace) -> int:
    vault = open_vault(args)
    latest = vault.audit.latest_checkpoint()
    if latest is None:
        raise NotFound("the audit log has no checkpoint yet")
    sys.stdout.write(latest.note)
    if args.qr or args.qr_png:
        from vault.witness.paper import print_qr

        print_qr(latest.note, sys.stdout if args.qr else None, args.qr_png)
    return 0


def cmd_prove(args: argparse.Namespace) -> int:
    vault = open_vault(args)
    vault.checkpoint()  # make sure the newest entries are covered
    sys.stdout.write(vault.audit.prove(args.index))
    return 0


def cmd_consistency(args: argparse.Namespace) -> int:
    from vault.audit.consistency import check_extends, read_older_checkpoint
    from vault.witness.paper import is_typed, paper_checkpoint

    typed = is_typed(args.file, args.size, args.root, args.origin)  # UsageError when mixed
    old_note = "" if typed else read_older_checkpoint(args.file)  # NotFound or UsageError
    vault = open_vault(args)
    vault.checkpoint()
    latest = vault.audit.latest_checkpoint()
    if latest is None:
        raise NotFound("the audit log has no checkpoint yet")
    if typed:
        paper = paper_checkpoint(args.origin or vault.config.origin, args.size, args.root)
        report = check_extends(vault.audit, paper, latest.note, vault.verifier_keys())
    else:
        report = check_extends(vault.audit, old_note, latest.note, vault.verifier_keys())
    if args.json:
        emit_json(to_json(report))
    elif report.ok:
        print(f"ok: {report.reason}")
    if not report.ok:
        raise CommandError(f"consistency check failed: {report.reason}", IntegrityError.exit_code)
    return 0
