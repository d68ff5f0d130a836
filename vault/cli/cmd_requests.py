"""`request …`, `approve`, `refuse`, `export`, `receipt …`."""

from __future__ import annotations

import argparse
import base64
import binascii
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault.cli.common import (
    CommandError,
    add_json,
    emit_json,
    human_size,
    open_vault,
    table,
    unlocked_vault,
)
from vault.errors import IntegrityError, UsageError
from vault.jsonout import to_json
from vault.requests import Status
from vault.safetext import shown
from vault.timeutil import iso, parse_time

if TYPE_CHECKING:
    from vault.service.results import DecisionResult


def register(sub: argparse._SubParsersAction) -> None:
    req = sub.add_parser("request", help="requests for footage")
    rsub = req.add_subparsers(dest="request_command", metavar="ACTION")
    rsub.required = True
    p = rsub.add_parser("add", help="file a request; prints its id")
    p.add_argument("--requester", required=True, metavar="NAME")
    p.add_argument("--org", required=True, metavar="ORG")
    p.add_argument(
        "--kind",
        required=True,
        help="police, insurer, court, neighbour, owner, data-subject, other",
    )
    p.add_argument(
        "--basis",
        required=True,
        help="consent, warrant, subpoena, court-order, emergency, owner, data-subject-access",
    )
    p.add_argument("--reason", required=True, metavar="TEXT")
    p.add_argument("--camera", action="append", required=True, metavar="C")
    p.add_argument("--from", dest="from_", required=True, metavar="T")
    p.add_argument("--to", required=True, metavar="T")
    p.add_argument("--reference", metavar="REF")
    p.add_argument("--contact", metavar="TEXT")
    p.add_argument("--deadline", metavar="T")
    p.add_argument("--recipient", metavar="AGE1", help="the requester's age recipient")
    p.add_argument("--attach", action="append", default=[], type=Path, metavar="FILE")
    add_json(p)
    p.set_defaults(func=cmd_request_add)
    p = rsub.add_parser("import", help="file a request from a JSON or TOML file")
    p.add_argument("file", type=Path)
    add_json(p)
    p.set_defaults(func=cmd_request_import)
    p = rsub.add_parser("list", help="list requests, pending and urgent first")
    p.add_argument("--status", metavar="S")
    add_json(p)
    p.set_defaults(func=cmd_request_list)
    p = rsub.add_parser("show", help="a request, its decision and the clips in its scope")
    p.add_argument("id")
    add_json(p)
    p.set_defaults(func=cmd_request_show)
    p = rsub.add_parser("withdraw", help="withdraw a request")
    p.add_argument("id")
    p.add_argument("--reason", metavar="TEXT")
    p.set_defaults(func=cmd_request_withdraw)
    p = rsub.add_parser(
        "reopen",
        help="put a request whose decision carries no valid owner signature back to "
        "pending, to decide it again (needs the passphrase)",
    )
    p.add_argument("id")
    p.add_argument("--reason", required=True, metavar="TEXT")
    p.set_defaults(func=cmd_request_reopen)

    p = sub.add_parser(
        "approve", help="approve a request, or part of it (signs: needs the passphrase)"
    )
    p.add_argument("id")
    p.add_argument("--reason", required=True, metavar="TEXT")
    p.add_argument(
        "--clip",
        action="append",
        default=[],
        metavar="CLIP_ID",
        help="approve only these clips (repeatable)",
    )
    p.add_argument("--exclude-clip", action="append", default=[], metavar="CLIP_ID")
    p.add_argument("--expires", metavar="T", help="the approval lapses at T")
    p.add_argument("--terms", metavar="TEXT", help="usage terms given to the requester")
    cut = p.add_mutually_exclusive_group()
    cut.add_argument(
        "--exact",
        action="store_true",
        help="re-encode clips that extend beyond the window to cut exactly at it "
        "(default: cut by remux from the keyframe at or before it)",
    )
    cut.add_argument(
        "--whole-clips",
        action="store_true",
        help="release the original files unchanged, even beyond the window",
    )
    audio = p.add_mutually_exclusive_group()
    audio.add_argument(
        "--strip-audio",
        dest="strip_audio",
        action="store_true",
        default=None,
        help="remove the sound (default for data-subject requests)",
    )
    audio.add_argument(
        "--keep-audio",
        dest="strip_audio",
        action="store_false",
        help="keep the sound (cameras set --export-audio no never keep it)",
    )
    faces = p.add_mutually_exclusive_group()
    faces.add_argument(
        "--blur-faces",
        dest="blur_faces",
        action="store_true",
        default=None,
        help="blur faces (default for data-subject requests)",
    )
    faces.add_argument("--no-blur-faces", dest="blur_faces", action="store_false")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="show what each clip would become (the disclosed windows); sign nothing",
    )
    add_json(p)
    p.set_defaults(func=cmd_approve)
    p = sub.add_parser("refuse", help="refuse a request (signs: needs the passphrase)")
    p.add_argument("id")
    p.add_argument("--reason", required=True, metavar="TEXT")
    p.add_argument("--out", type=Path, metavar="DIR", help="write the refusal receipt here")
    add_json(p)
    p.set_defaults(func=cmd_refuse)
    p = sub.add_parser("export", help="export exactly the approved clips with a signed receipt")
    p.add_argument("id")
    p.add_argument("--out", type=Path, required=True, metavar="DIR")
    p.add_argument("--format", choices=["plain", "age"], default="plain")
    add_json(p)
    p.set_defaults(func=cmd_export)

    rc = sub.add_parser("receipt", help="consent receipts")
    csub = rc.add_subparsers(dest="receipt_command", metavar="ACTION")
    csub.required = True
    p = csub.add_parser(
        "verify", help="verify an export folder or receipt offline (no vault needed)"
    )
    p.add_argument("path", type=Path)
    p.add_argument(
        "--owner-key",
        metavar="KEY",
        help="the owner's signing public key (base64), obtained out of band",
    )
    add_json(p)
    p.set_defaults(func=cmd_receipt_verify)
    p = csub.add_parser("show", help="print a receipt")
    p.add_argument("path", type=Path)
    p.add_argument("--kantara", action="store_true", help="as a Kantara Consent Receipt v1.1")
    p.set_defaults(func=cmd_receipt_show)


def cmd_request_add(args: argparse.Namespace) -> int:
    fields: dict[str, Any] = {
        "requester": args.requester,
        "organisation": args.org,
        "kind": args.kind,
        "basis": args.basis,
        "reason": args.reason,
        "cameras": args.camera,
        "from": args.from_,
        "to": args.to,
        "reference": args.reference,
        "contact": args.contact,
        "deadline": args.deadline,
        "recipient": args.recipient,
        "attachments": [str(a) for a in args.attach],
    }
    rid = open_vault(args).requests.add(fields)
    if args.json:
        emit_json({"id": rid})
    else:
        print(rid)
    return 0


def cmd_request_import(args: argparse.Namespace) -> int:
    rid = open_vault(args).requests.import_file(args.file)
    if args.json:
        emit_json({"id": rid})
    else:
        print(rid)
    return 0


def cmd_request_list(args: argparse.Namespace) -> int:
    vault = open_vault(args)
    reqs = vault.requests.all(args.status)
    now = vault.clock()
    if args.json:
        emit_json([r.as_json(now) for r in reqs])
        return 0
    rows = []
    for r in reqs:
        flags = ("URGENT " if r.urgent else "") + ("DUE-SOON" if r.near_deadline(now) else "")
        rows.append(
            [
                r.id,
                r.status,
                r.kind,
                r.basis,
                f"{r.requester} ({r.organisation})",
                iso(r.deadline) or "-",
                flags.strip(),
            ]
        )
    print(table(rows, ["ID", "STATUS", "KIND", "BASIS", "REQUESTER", "DEADLINE", "FLAGS"]))
    pending = sum(1 for r in reqs if r.status == Status.PENDING)
    print(f"\n{len(reqs)} request(s), {pending} pending")
    return 0


def cmd_request_show(args: argparse.Namespace) -> int:
    vault = open_vault(args)
    info = vault.requests.get(args.id)
    clips = vault.requests.scope_clips(args.id)
    if args.json:
        out = info.as_json(vault.clock())
        out["clips_in_scope"] = to_json(clips)
        emit_json(out)
        return 0
    data = info.as_json(vault.clock())
    for key in (
        "id",
        "status",
        "requester",
        "organisation",
        "kind",
        "basis",
        "urgent",
        "reference",
        "contact",
        "reason",
        "deadline",
        "recipient",
    ):
        print(f"{key + ':':14} {data[key] if data[key] is not None else '-'}")
    s = data["scope"]
    print(f"{'scope:':14} {', '.join(s['cameras'])} from {s['from']} to {s['to']}")
    for a in info.attachments:
        print(
            f"{'attachment:':14} {a['name']} ({human_size(a['size'])}, sha256 {a['sha256'][:16]}…)"
        )
    if info.decision:
        d = info.decision
        print(f"{'decision:':14} {d['outcome']} at {d['decided_at']}: {d['reason']}")
    for e in info.exports:
        print(f"{'export:':14} {e['id']} ({e['format']}) at {e['created_at']} -> {e['out_dir']}")
    print(f"\n{len(clips)} clip(s) in scope")
    rows = [[c.id, c.camera, iso(c.captured_at) or "", human_size(c.size)] for c in clips]
    if rows:
        print(table(rows, ["ID", "CAMERA", "CAPTURED", "SIZE"]))
    return 0


def cmd_request_withdraw(args: argparse.Namespace) -> int:
    open_vault(args).requests.withdraw(args.id, args.reason)
    print(f"{args.id} withdrawn")
    return 0


def cmd_request_reopen(args: argparse.Namespace) -> int:
    unlocked_vault(args).requests.reopen(args.id, args.reason)
    print(f"{args.id} is pending again: look at it and approve or refuse it")
    return 0


def _decision_summary(result: DecisionResult, as_json: bool) -> None:
    if as_json:
        emit_json(to_json(result))
        return
    print(f"{result.request_id}: {result.outcome.replace('_', ' ')}, {len(result.clips)} clip(s)")
    if result.receipt_path is not None:
        print(f"receipt_path: {result.receipt_path}")


def _choices(vault: Any, args: argparse.Namespace) -> Any:
    """The owner's minimisations: the request kind's defaults, then the flags."""
    from vault.service.release_plan import defaults_for
    from vault.transform.plan import Choices, Cut

    base = defaults_for(vault.requests.get(args.id).kind)
    cut = Cut.EXACT if args.exact else Cut.WHOLE if args.whole_clips else base.cut
    return Choices(
        cut=cut,
        strip_audio=base.strip_audio if args.strip_audio is None else args.strip_audio,
        blur_faces=base.blur_faces if args.blur_faces is None else args.blur_faces,
    )


def _print_plan(release: Any, out: Any) -> None:
    """What each approved clip becomes, as the owner is shown it before signing."""
    from vault.transform.plan import describe

    c = release.choices
    print(
        f"release plan: cut {c.cut.value}"
        + (", sound removed" if c.strip_audio else "")
        + (", faces blurred" if c.blur_faces else ""),
        file=out,
    )
    for clip in release.clips:
        if not clip.operations:
            print(
                f"  {clip.clip}: the original file, unchanged"
                + (f" ({clip.note})" if clip.note else ""),
                file=out,
            )
            continue
        print(f"  {clip.clip}:", file=out)
        for op in clip.operations:
            print(f"    - {describe(op)}", file=out)


def _plan_json(release: Any) -> dict[str, Any]:
    facts = release.as_facts()
    for clip, c in zip(facts["clips"], release.clips, strict=True):
        clip["note"] = c.note
    return facts


def cmd_approve(args: argparse.Namespace) -> int:
    vault = unlocked_vault(args)
    release = vault.requests.plan_release(
        args.id,
        clips=args.clip or None,
        exclude=args.exclude_clip or None,
        choices=_choices(vault, args),
    )
    if args.dry_run:
        if args.json:
            emit_json({"release": _plan_json(release), "signed": False})
        else:
            _print_plan(release, sys.stdout)
            print("nothing was signed (--dry-run)")
        return 0
    if not args.json:
        # Shown before the signature is made: the disclosed window of each cut.
        _print_plan(release, sys.stdout)
    result = vault.requests.decide(
        args.id,
        approve=True,
        reason=args.reason,
        clips=args.clip or None,
        exclude=args.exclude_clip or None,
        expires=parse_time(args.expires, "--expires") if args.expires else None,
        terms=args.terms,
        release=release,
    )
    _decision_summary(result, args.json)
    return 0


def cmd_refuse(args: argparse.Namespace) -> int:
    if args.out:
        from vault.service.places import check_receipt_folder

        # Checked before the decision: a refusal must not be recorded and
        # signed only for its receipt to have nowhere to go.
        check_receipt_folder(args.out)
    result = unlocked_vault(args).releases.refuse(args.id, args.reason, args.out or None)
    _decision_summary(result, args.json)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    vault = unlocked_vault(args)

    def progress(done: int, total: int, clip_id: str) -> None:
        if not args.json and sys.stderr.isatty():
            print(f"\r{human_size(done)} / {human_size(total)}", end="", file=sys.stderr)

    result = vault.releases.export(args.id, args.out, fmt=args.format, progress=progress)
    if args.json:
        emit_json(to_json(result))
    else:
        from vault import receipts

        print(f"exported {result.files} clip(s) to {result.out}")
        print(f"receipt: {result.out / receipts.RECEIPT_TXT}")
    return 0


def _owner_key(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise UsageError("--owner-key: not base64") from None
    if len(raw) != 32:
        raise UsageError("--owner-key: an Ed25519 public key is 32 bytes")
    return raw


def cmd_receipt_verify(args: argparse.Namespace) -> int:
    from vault import receipts

    report = receipts.verify_folder(args.path, _owner_key(args.owner_key))
    if args.json:
        emit_json(to_json(report))
    else:
        for c in report.checks:
            mark = "ok  " if c.ok else "FAIL"
            print(f"{mark} {c.name}" + (f": {c.detail}" if c.detail else ""))
        if report.ok and report.receipt:
            r = report.receipt
            print(
                "\nverified: "
                + shown(  # the receipt's text is the folder maker's
                    f"{r['decision']['outcome'].replace('_', ' ')} for "
                    f"{r['request']['requester']} ({r['request']['organisation']}), "
                    f"{len(r.get('clips', []))} clip(s), signed by {r['signature']['public_key']}"
                )
            )
            if not report.signer_pinned:
                print(
                    "NOTE: the signer is NOT authenticated: its key was taken from the receipt.\n"
                    "      Compare it with the owner's key (`ringfence key show` on the owner's\n"
                    "      machine) or pass --owner-key KEY to check it."
                )
    if not report.ok:
        first = next((c for c in report.checks if not c.ok), None)
        raise CommandError(
            f"receipt verification failed: {first.name if first else 'nothing verified'}"
            + (f" ({first.detail})" if first and first.detail else ""),
            IntegrityError.exit_code,
        )
    return 0


def cmd_receipt_show(args: argparse.Namespace) -> int:
    from vault import receipts

    _folder, receipt = receipts.load_receipt(args.path)
    if args.kantara:
        emit_json(receipts.to_kantara(receipt))
    else:
        sys.stdout.write(receipts.render_text(receipt))
    return 0
