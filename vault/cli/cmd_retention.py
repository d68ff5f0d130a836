"""`hold …` and `retention …` (`clips shred` lives with the other clip commands)."""

from __future__ import annotations

import argparse
import sys

from vault.cli.common import add_json, emit_json, open_vault, table, unlocked_vault
from vault.jsonout import to_json
from vault.timeutil import iso, parse_end_time, parse_time


def register(sub: argparse._SubParsersAction) -> None:
    hold = sub.add_parser("hold", help="legal holds: keep clips from retention and shredding")
    hsub = hold.add_subparsers(dest="hold_command", metavar="ACTION")
    hsub.required = True
    p = hsub.add_parser("add", help="hold a camera's clips in a time window; prints the hold id")
    p.add_argument("--camera", required=True, metavar="C")
    p.add_argument("--from", dest="from_", required=True, metavar="T", help="ISO 8601, inclusive")
    p.add_argument("--to", required=True, metavar="T", help="ISO 8601, inclusive")
    p.add_argument("--reason", required=True, metavar="TEXT")
    p.add_argument("--until", metavar="T", help="the hold ends by itself then (default: never)")
    add_json(p)
    p.set_defaults(func=cmd_hold_add)
    p = hsub.add_parser("list", help="holds in force: manual holds and requests")
    p.add_argument(
        "--all",
        action="store_true",
        help="also released and lapsed holds, and requests that no longer hold",
    )
    add_json(p)
    p.set_defaults(func=cmd_hold_list)
    p = hsub.add_parser("release", help="release a manual hold (signs: needs the passphrase)")
    p.add_argument("id")
    p.add_argument("--reason", required=True, metavar="TEXT")
    add_json(p)
    p.set_defaults(func=cmd_hold_release)

    ret = sub.add_parser("retention", help="shred clips past their camera's retention")
    rsub = ret.add_subparsers(dest="retention_command", metavar="ACTION")
    rsub.required = True
    p = rsub.add_parser("run", help="shred every unheld clip past its camera's retention")
    p.add_argument("--dry-run", action="store_true", help="only say what would be shredded")
    add_json(p)
    p.set_defaults(func=cmd_retention_run)
    p = rsub.add_parser("records", help="the signed deletion records")
    add_json(p)
    p.set_defaults(func=cmd_retention_records)


def cmd_hold_add(args: argparse.Namespace) -> int:
    vault = open_vault(args)
    hold_id = vault.holds.add(
        args.camera,
        parse_time(args.from_, "--from"),
        parse_end_time(args.to, "--to", inclusive=True),
        args.reason,
        hold_until=parse_end_time(args.until, "--until", inclusive=False) if args.until else None,
    )
    if args.json:
        emit_json(to_json(next(h for h in vault.holds.all() if h.id == hold_id)))
    else:
        print(hold_id)
    return 0


def cmd_hold_list(args: argparse.Namespace) -> int:
    holds = open_vault(args).holds.all(include_released=args.all)
    if args.json:
        emit_json(to_json(holds))
        return 0
    rows = [
        [
            h.id,
            h.state,
            ",".join(h.cameras),
            iso(h.scope_from) or "",
            iso(h.scope_to) or "",
            iso(h.until) or ("until released" if h.kind == "hold" else "until decided or exported"),
            h.reason.replace("\n", " ")[:60],
        ]
        for h in holds
    ]
    print(table(rows, ["ID", "STATE", "CAMERAS", "FROM", "TO", "UNTIL", "REASON"]))
    return 0


def cmd_hold_release(args: argparse.Namespace) -> int:
    info = unlocked_vault(args).holds.release(args.id, args.reason)
    if args.json:
        emit_json(to_json(info))
    else:
        print(f"released {info.id}")
    return 0


def cmd_retention_run(args: argparse.Namespace) -> int:
    report = open_vault(args).retention.run(dry_run=args.dry_run)
    if report.disk is not None and report.disk.low:
        print(f"ringfence: {report.disk.message()}", file=sys.stderr)
    if args.json:
        emit_json(to_json(report))
        return 0
    verb = "would shred" if report.dry_run else "shredded"
    print(
        f"{verb} {len(report.shredded)} clip(s); {len(report.held)} past retention but held"
        + (f"; deletion record {report.record}" if report.record else "")
    )
    for c in report.shredded:
        print(f"  {verb} {c['id']}  {c['camera']}  {c['captured_at']}  ({c['rule']}: {c['why']})")
    for c in report.held:
        by = "; ".join(
            f"{h['kind']} {h['id']} until {h['until'] or 'further notice'}" for h in c["held_by"]
        )
        print(f"  held {c['id']}  {c['camera']}  {c['captured_at']}  by {by}")
    return 0


def cmd_retention_records(args: argparse.Namespace) -> int:
    from vault.errors import IntegrityError
    from vault.retention import verify_record

    vault = open_vault(args)
    records = vault.retention.deletion_records()
    bad: dict[str, str] = {}
    for r in records:
        try:
            verify_record(r, vault.config.device_verifier)
        except IntegrityError as exc:
            bad[str(r.get("id"))] = str(exc)
    if args.json:
        emit_json(records)
    else:
        rows = [
            [
                str(r.get("id")),
                str(r.get("created_at")),
                str(r.get("trigger")),
                str(r.get("actor")),
                str(len(r.get("clips") or [])),
                "BAD" if str(r.get("id")) in bad else "ok",
                str(r.get("reason")).replace("\n", " ")[:60],
            ]
            for r in records
        ]
        print(table(rows, ["ID", "CREATED", "TRIGGER", "ACTOR", "CLIPS", "SIGNATURE", "REASON"]))
    for record_id, why in bad.items():
        print(f"ringfence: deletion record {record_id}: {why}", file=sys.stderr)
    return IntegrityError.exit_code if bad else 0
