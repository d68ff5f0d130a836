"""`backup DEST`, `backup verify DEST` and `restore DEST NEWVAULT` (docs/backup.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vault.cli.common import CommandError, add_json, emit_json, open_vault, passphrase_source
from vault.errors import IntegrityError, UsageError
from vault.jsonout import to_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "backup",
        help="back the vault up to a folder or rclone:REMOTE:PATH; `backup verify DEST` "
        "checks a backup",
        usage="ringfence backup [verify] DEST [--json]",
    )
    p.add_argument(
        "words",
        nargs="+",
        metavar="DEST",
        help="the destination: a folder or rclone:REMOTE:PATH "
        "(`backup verify DEST` checks it, without the passphrase)",
    )
    add_json(p)
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="make a new vault from a backup (needs the passphrase)")
    p.add_argument("source", metavar="DEST", help="the backup: a folder or rclone:REMOTE:PATH")
    p.add_argument("new_vault", metavar="NEWVAULT", help="an empty or new folder")
    add_json(p)
    p.set_defaults(func=cmd_restore)


def cmd_backup(args: argparse.Namespace) -> int:
    words = args.words
    if len(words) == 2 and words[0] == "verify":
        return _verify(args, words[1])
    if len(words) != 1:
        raise UsageError("backup: give one destination (`backup DEST` or `backup verify DEST`)")
    report = open_vault(args).backups.take(words[0])
    if args.json:
        emit_json(to_json(report))
        return 0
    print(
        f"backed up to {report.destination}: {report.clips} clip(s), log of "
        f"{report.log_size} entries; {report.payloads_added} payload(s) copied, "
        f"{report.payloads_removed} removed"
    )
    if report.shredded_removed:
        print(
            f"removed the headers of {len(report.shredded_removed)} clip(s) shredded since "
            "the last backup: " + ", ".join(report.shredded_removed)
        )
    return 0


def _verify(args: argparse.Namespace, destination: str) -> int:
    from vault.service.backup_check import verify_backup

    check = verify_backup(destination)
    if args.json:
        emit_json(to_json(check))
    else:
        state = "ok" if check.ok else "FAILED"
        print(
            f"backup {check.destination}: {state}; taken {check.taken_at}, log of "
            f"{check.log_size} entries, {check.clips_checked} clip row(s), "
            f"{check.payloads_checked} payload(s) hashed"
        )
        if check.owner_verifier:
            print(f"owner verifier: {check.owner_verifier} (compare with `ringfence key show`)")
        for note in check.notes:
            print(f"  note: {note}")
        for problem in check.problems:
            print(f"  problem: {problem}", file=sys.stderr)
    if not check.ok:
        raise CommandError(
            f"the backup at {check.destination} does not verify ({len(check.problems)} problem(s))",
            IntegrityError.exit_code,
        )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from vault.service.backup_check import restore

    passphrase = passphrase_source(args).get("Passphrase for the backed-up vault")
    report = restore(args.source, Path(args.new_vault), passphrase)
    if args.json:
        emit_json(to_json(report))
        return 0
    print(
        f"restored {report.source} into {report.vault}: backup taken {report.taken_at}, "
        f"{report.clips} payload(s) verified; audit log: {report.audit}"
    )
    print(
        f"use it with `ringfence --vault {report.vault} ...`; add its cameras' drop folders "
        "again if they moved (`ringfence camera add`)"
    )
    return 0
