"""Verifying a receipt offline: what a requester runs on what they received.

Everything here is pure: no vault, no catalog, no database driver
(tests/receipts/test_verify_imports.py proves it). ``verify_folder`` checks
the owner's signature, each audit entry's inclusion proof against a
checkpoint the owner signed, and every delivered file's hash.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from vault.audit.events import EXPORT_CREATED, REQUEST_DECIDED
from vault.audit.verify import verify_entry_inclusion
from vault.canonical import parse_canonical
from vault.errors import IntegrityError, NotFound
from vault.fsutil import open_regular, read_regular
from vault.jsonout import JSON_OMIT
from vault.receipts import handover
from vault.receipts.format import (
    MAX_RECEIPT,
    PROOF_TXT,
    RECEIPT_JSON,
    RECEIPT_TXT,
    VERSION,
    check_shape,
)
from vault.receipts.render import render_text
from vault.receipts.sign import check_signature, note_verifier_key
from vault.safetext import shown
from vault.transform import plan as release_plan

READ_CHUNK = 1 << 20


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class VerifyReport:
    """The checks of one folder, added as they run. JSON: ``ok``,
    ``signer_pinned`` and the checks (the receipt itself is in the folder)."""

    checks: list[Check] = field(default_factory=list)
    receipt: dict[str, Any] | None = field(default=None, metadata=JSON_OMIT)
    #: True only when the signing key was given by the verifier (--owner-key);
    #: otherwise the signature proves integrity, not who signed.
    signer_pinned: bool = False

    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = ("ok",)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, detail: str = "") -> None:
        # Names and details quote the folder's file names and the receipt's
        # text, which whoever made the folder chose: escape them once, here.
        self.checks.append(Check(shown(name), ok, shown(detail)))


def load_receipt(path: Path) -> tuple[Path, dict[str, Any]]:
    """(folder, receipt) from an export folder or a receipt.json path.

    NotFound when there is nothing at *path*; IntegrityError, naming the
    field, when the file is not a well-formed receipt.
    """
    file = path / RECEIPT_JSON if path.is_dir() else path
    try:
        # The folder came from someone else: receipt.json may be a FIFO, a
        # link to /dev/zero or a huge file. Read a bounded regular file only.
        data = read_regular(file, MAX_RECEIPT)
    except FileNotFoundError:
        raise NotFound(f"{shown(file)}: no such file") from None
    except OSError as exc:
        raise IntegrityError(f"cannot read {shown(file)}: {_why(exc)}") from None
    receipt = parse_canonical(data)
    if not isinstance(receipt, dict) or receipt.get("version") != VERSION:
        raise IntegrityError(f"{shown(file)} is not a {VERSION} receipt")
    check_shape(receipt)
    return file.parent, receipt


def _safe_relative(name: Any) -> bool:
    if not isinstance(name, str) or not name or name.startswith("/") or "\\" in name:
        return False
    parts = name.split("/")
    return all(p not in ("", ".", "..") for p in parts)


def _check_entries(
    report: VerifyReport, receipt: dict[str, Any], verifier: str, owner_name: str
) -> None:
    audit = receipt.get("audit") or {}
    entries = audit.get("entries") or []
    if not entries:
        report.add("audit proof", False, "the receipt carries no audit entry")
        return
    for e in entries:
        try:
            entry_bytes = e["entry"].encode("utf-8")
            # The checkpoint must be of the log the receipt names, not merely
            # signed by the owner's key (tlog-proof: a proof is checked
            # against the log's origin and the trusted keys).
            result = verify_entry_inclusion(
                entry_bytes,
                e["proof"],
                [verifier],
                required_signer=owner_name,
                origin=receipt["controller"]["vault_origin"],
            )
        except (KeyError, AttributeError, TypeError):
            report.add(f"audit entry ({e!r:.40})", False, "malformed audit entry")
            continue
        report.add(
            f"audit entry {e.get('index')} ({e.get('role')}) included in the signed log",
            bool(result.ok),
            "" if result.ok else result.reason,
        )
        if not result.ok:
            continue
        try:
            entry = parse_canonical(entry_bytes)
        except IntegrityError as exc:
            report.add(f"audit entry {e.get('index')} content", False, exc.message)
            continue
        try:
            matches = _entry_matches(entry, e["role"], e["index"], receipt)
        except (AttributeError, TypeError, KeyError):
            matches = (False, "the logged entry is malformed")
        report.add(f"audit entry {e['index']} matches the receipt", *matches)


def _entry_matches(entry: Any, role: Any, index: Any, receipt: dict[str, Any]) -> tuple[bool, str]:
    if not isinstance(entry, dict) or entry.get("index") != index:
        return False, "the entry's index differs from the receipt"
    details = entry.get("details") or {}
    req_id = receipt["request"]["id"]
    if role == "decision":
        if entry.get("type") != REQUEST_DECIDED or entry.get("subject") != req_id:
            return False, "not the decision entry of this request"
        if details.get("outcome") != receipt["decision"]["outcome"]:
            return False, "the logged outcome differs from the receipt"
        want = sorted((c["id"], c["sha256"]) for c in receipt.get("clips", []))
        got = sorted((c.get("id"), c.get("sha256")) for c in details.get("clips", []))
        if want != got:
            return False, "the logged clips differ from the receipt"
        signed = details.get("signed") or {}
        logged_release = (signed.get("decision") or {}).get("release")
        if logged_release != receipt.get("release"):
            # The release plan is under the owner's signature in the logged
            # decision: the receipt must carry that plan, not another.
            return False, "the logged release plan differs from the receipt"
        return True, ""
    if role == "export":
        exp = receipt.get("export") or {}
        if entry.get("type") != EXPORT_CREATED or entry.get("subject") != exp.get("id"):
            return False, "not the entry of this export"
        want = sorted(
            (c["id"], c["delivered"]["sha256"])
            for c in receipt.get("clips", [])
            if c.get("delivered")
        )
        got = sorted((f.get("clip"), f.get("sha256")) for f in details.get("files", []))
        if want != got or details.get("request") != req_id:
            return False, "the logged delivery differs from the receipt"
        return True, ""
    return False, f"unknown entry role {role!r}"


def verify_folder(path: Path, owner_key: bytes | None = None) -> VerifyReport:
    """Verify an export folder (or a receipt file) without any vault.

    Given a folder, everything in it is checked, and nothing else may be in
    it. Given a receipt file, the delivered files it names are checked beside
    it (they must be there), and receipt.txt and audit-proof.txt if present.
    NotFound when *path* does not exist.
    """
    report = VerifyReport()
    is_folder = path.is_dir()
    try:
        folder, receipt = load_receipt(path)
    except IntegrityError as exc:
        report.add("receipt is a well-formed, canonical JSON receipt", False, exc.message)
        return report
    report.receipt = receipt
    report.add("receipt is a well-formed, canonical JSON receipt", True)
    try:
        public = check_signature(receipt, owner_key)
    except IntegrityError as exc:
        report.add("owner's signature", False, exc.message)
        return report
    report.signer_pinned = owner_key is not None
    report.add(
        "owner's signature",
        True,
        "key pinned by --owner-key"
        if owner_key
        else "signer NOT authenticated: the key was taken from the receipt (pin it with "
        "--owner-key)",
    )
    owner_name = f"{receipt['controller']['vault_origin']}/owner"
    verifier = note_verifier_key(owner_name, public)
    _check_entries(report, receipt, verifier, owner_name)
    _check_release(report, receipt)
    _check_files(report, folder, receipt, whole_folder=is_folder)
    return report


def _check_release(report: VerifyReport, receipt: dict[str, Any]) -> None:
    """Each delivered file is what the signed release plan says: the original
    when the plan lists no operation for its clip, else a file derived from
    that clip by exactly the planned operations."""
    raw = receipt.get("release")
    try:
        signed = None if raw is None else release_plan.parse(raw)
    except IntegrityError as exc:
        report.add("release plan", False, exc.message)
        return
    ids = [c["id"] for c in receipt["clips"]]
    if signed is not None and sorted(c.clip for c in signed.clips) != sorted(ids):
        report.add("release plan", False, "it names other clips than the receipt")
        return
    for c in receipt["clips"]:
        d = c.get("delivered")
        if not d:
            continue
        planned = [] if signed is None else signed.for_clip(c["id"]).operations
        done = d.get("operations") or []
        name = f"file {d['file']} made as signed"
        if done != planned:
            report.add(name, False, "its operations differ from the signed release plan")
        elif planned and d.get("derived_from") != {"clip": c["id"], "sha256": c["sha256"]}:
            report.add(name, False, "it does not name its original clip and hash")
        elif not planned and (
            "derived_from" in d
            or (d["format"] == "plain" and not hmac.compare_digest(d["sha256"], c["sha256"]))
        ):
            report.add(name, False, "the plan releases the original, but this is not it")
        else:
            report.add(
                name,
                True,
                "; ".join(release_plan.describe(o) for o in planned) or "the original, unchanged",
            )


def _regular_digest(path: Path) -> tuple[int, str]:
    """Size and SHA-256 of a regular file reached without following a symlink."""
    with open_regular(path) as f:
        h = hashlib.sha256()
        n = 0
        while chunk := f.read(READ_CHUNK):
            h.update(chunk)
            n += len(chunk)
    return n, h.hexdigest()


def _unsafe_parent(folder: Path, name: str) -> bool:
    """Whether a folder on the way from *folder* to *name* is a symlink."""
    here = folder
    for part in name.split("/")[:-1]:
        here = here / part
        if here.is_symlink():
            return True
    return False


def _check_files(
    report: VerifyReport, folder: Path, receipt: dict[str, Any], *, whole_folder: bool
) -> None:
    expected = {RECEIPT_JSON, RECEIPT_TXT, PROOF_TXT}
    txt_path, proof_path = folder / RECEIPT_TXT, folder / PROOF_TXT
    if whole_folder or os.path.lexists(txt_path):
        try:
            txt = _read_text(txt_path)
            report.add("receipt.txt matches receipt.json", txt == render_text(receipt))
        except (OSError, UnicodeDecodeError) as exc:
            report.add("receipt.txt matches receipt.json", False, _why(exc))
    if whole_folder or os.path.lexists(proof_path):
        try:
            proof = _read_text(proof_path)
            entries = receipt["audit"]["entries"]
            report.add(
                "audit-proof.txt matches receipt.json",
                bool(entries) and proof == entries[-1]["proof"],
            )
        except (OSError, UnicodeDecodeError) as exc:
            report.add("audit-proof.txt matches receipt.json", False, _why(exc))
    _check_handover(report, folder, receipt, expected)
    for c in receipt["clips"]:
        d = c.get("delivered")
        if not d:
            continue
        name = d["file"]
        if not _safe_relative(name):
            report.add(f"file {name!r}", False, "unsafe path in the receipt")
            continue
        expected.add(name)
        if _unsafe_parent(folder, name):
            report.add(f"file {name}", False, "reached through a symlink")
            continue
        try:
            size, digest = _regular_digest(folder / name)
        except OSError as exc:
            report.add(f"file {name}", False, f"cannot read: {_why(exc)}")
            continue
        ok = size == d["size"] and hmac.compare_digest(digest, d["sha256"])
        report.add(f"file {name} sha256", ok, "" if ok else "hash or size differs from the receipt")
    if not whole_folder:
        return
    extra = []
    for dirpath, dirs, files in os.walk(folder):
        for f in dirs + files:
            full = os.path.join(dirpath, f)
            rel = os.path.relpath(full, folder).replace(os.sep, "/")
            if os.path.islink(full):
                extra.append(f"{rel} (a symlink)")
            elif f in files and (rel not in expected or not os.path.isfile(full)):
                extra.append(rel)
    report.add("no unexpected files", not extra, ", ".join(sorted(extra)[:5]))


def _check_handover(
    report: VerifyReport, folder: Path, receipt: dict[str, Any], expected: set[str]
) -> None:
    """The handover files that are there (older folders have none) say what
    the receipt says, and every line of SHA256SUMS matches its file."""
    for name, data in handover.receipt_files(receipt):
        if name not in handover.FILES or not os.path.lexists(folder / name):
            continue
        expected.add(name)
        try:
            got = read_regular(folder / name, MAX_RECEIPT)
        except OSError as exc:
            report.add(f"{name} matches receipt.json", False, _why(exc))
            continue
        report.add(f"{name} matches receipt.json", hmac.compare_digest(got, data))
    sums = folder / handover.SUMS
    if not os.path.lexists(sums):
        return
    expected.add(handover.SUMS)
    try:
        lines = handover.parse_sha256sums(read_regular(sums, MAX_RECEIPT))
    except OSError as exc:
        report.add(handover.SUMS, False, _why(exc))
        return
    except IntegrityError as exc:
        report.add(handover.SUMS, False, exc.message)
        return
    bad = []
    for name, digest in lines:
        if not _safe_relative(name) or _unsafe_parent(folder, name):
            bad.append(f"{name} (unsafe path)")
            continue
        try:
            _size, actual = _regular_digest(folder / name)
        except OSError as exc:
            bad.append(f"{name} ({_why(exc)})")
            continue
        if not hmac.compare_digest(actual, digest):
            bad.append(f"{name} (hash differs)")
    listed = {n for n, _d in lines}
    needed = {RECEIPT_JSON} | {
        c["delivered"]["file"] for c in receipt["clips"] if c.get("delivered")
    }
    missing = sorted(needed - listed)
    report.add(
        f"{handover.SUMS} lists every delivered file and matches them",
        not bad and not missing,
        ", ".join(bad[:5] + [f"{m} (not listed)" for m in missing[:5]]),
    )


def _read_text(path: Path) -> str:
    return read_regular(path, MAX_RECEIPT).decode("utf-8")


def _why(exc: Exception) -> str:
    if isinstance(exc, OSError):
        if exc.errno == errno.ELOOP:
            return "a symlink"
        return exc.strerror or str(exc)
    return "not UTF-8 text"
