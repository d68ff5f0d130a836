"""Consent receipts: build, sign, render, and verify offline.

A receipt is canonical JSON (vault.canonical) signed with the owner's Ed25519
key. It names the request, the decision, the exact clips released (or none,
for a refusal), what was delivered with its hashes, and the audit log entries
that recorded the decision and the export, each with an inclusion proof
against a checkpoint the owner signed. Everything here is pure: no vault, no
catalog. ``verify_folder`` is what a requester runs, offline, on what they
received.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vault.audit.verify import verify_entry_inclusion
from vault.canonical import canonical_json, parse_canonical
from vault.errors import IntegrityError, NotFound, UsageError
from vault.fsutil import open_regular, read_regular
from vault.safetext import shown, shown_lines

VERSION = "ringfence-receipt/1"
SIGNING_CONTEXT = b"ringfence-receipt/1\n"
RECEIPT_JSON = "receipt.json"
RECEIPT_TXT = "receipt.txt"
PROOF_TXT = "audit-proof.txt"
READ_CHUNK = 1 << 20
#: The most verify reads of receipt.json, receipt.txt or audit-proof.txt. A
#: receipt for thousands of clips is a few MiB; a bigger file is not one.
MAX_RECEIPT = 16 << 20


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def note_verifier_key(name: str, public: bytes) -> str:
    """The C2SP signed-note verifier key string for an Ed25519 public key."""
    key_hash = hashlib.sha256(name.encode() + b"\n\x01" + public).digest()[:4]
    encoded = base64.b64encode(b"\x01" + public).decode()
    return f"{name}+{key_hash.hex()}+{encoded}"


def sign(body: dict[str, Any], key: Ed25519PrivateKey, *,
         context: bytes = SIGNING_CONTEXT) -> dict[str, Any]:
    """Return *body* with a ``signature`` member over *context* and its canonical form.

    The one way the vault signs a JSON document; *context* keeps documents of
    different kinds (receipts, decisions) from ever passing for each other.
    """
    if "signature" in body:
        raise ValueError("body is already signed")
    payload = context + canonical_json(body)
    return {
        **body,
        "signature": {
            "alg": "Ed25519",
            "public_key": base64.b64encode(raw_public(key.public_key())).decode(),
            "value": base64.b64encode(key.sign(payload)).decode(),
        },
    }


def check_signature(receipt: dict[str, Any], pinned_key: bytes | None = None, *,
                    context: bytes = SIGNING_CONTEXT, what: str = "the receipt") -> bytes:
    """Verify a document's signature (see :func:`sign`); return the signer's raw public key."""
    sig = receipt.get("signature")
    if not isinstance(sig, dict) or sig.get("alg") != "Ed25519":
        raise IntegrityError(f"{what} has no Ed25519 signature")
    try:
        public = base64.b64decode(sig["public_key"], validate=True)
        value = base64.b64decode(sig["value"], validate=True)
        key = Ed25519PublicKey.from_public_bytes(public)
    except (KeyError, ValueError, TypeError):
        raise IntegrityError(f"{what}'s signature block is malformed") from None
    if pinned_key is not None and not hmac.compare_digest(public, pinned_key):
        raise IntegrityError(f"{what} is signed by a different key than the owner's")
    body = {k: v for k, v in receipt.items() if k != "signature"}
    try:
        key.verify(value, context + canonical_json(body))
    except InvalidSignature:
        raise IntegrityError(f"{what}'s signature does not verify") from None
    return public


# --- rendering --------------------------------------------------------------------


#: Where a field's value starts in receipt.txt, and how a multi-line value's
#: further lines begin: indented under the value and marked, so no line of a
#: requester's reason can pass for a heading or a field of the receipt.
VALUE_COLUMN = 16
CONTINUATION = " " * VALUE_COLUMN + "| "


def _one(value: Any) -> str:
    """A one-line field as printed: control, line-break and bidi characters escaped."""
    return shown(str(value))


def _field(label: str, value: Any) -> str:
    return f"  {label + ':':<{VALUE_COLUMN - 2}}{_one(value)}"


def _block(label: str, text: str) -> list[str]:
    """A multi-line field: its first line after the label, the others under it."""
    first, *rest = shown_lines(text)
    return [f"  {label + ':':<{VALUE_COLUMN - 2}}{first}",
            *((CONTINUATION + line).rstrip() for line in rest)]


def render_text(receipt: dict[str, Any]) -> str:
    """The receipt for humans. Deterministic: verify regenerates and compares it.

    Every value is outside text (a requester chose the names and the reason;
    a catalog writer may have changed them): one-line values are printed with
    dangerous characters escaped, and the lines of a multi-line value are
    indented and marked under its label (docs/receipts.md).
    """
    req = receipt["request"]
    dec = receipt["decision"]
    scope = req["scope"]
    lines = [
        "RINGFENCE CONSENT RECEIPT",
        "",
        f"Receipt:        {_one(receipt['receipt_id'])}",
        f"Issued:         {_one(receipt['issued_at'])}",
        f"Vault:          {_one(receipt['controller']['vault_origin'])}",
        "",
        "WHO ASKED",
        _field("Requester", f"{req['requester']} ({req['organisation']})"),
        _field("Kind", req["kind"]),
        _field("Contact", req.get("contact") or "-"),
        _field("Legal basis", req["basis"]),
        _field("Reference", req.get("reference") or "-"),
        *_block("Reason", req["reason"]),
        _field("Scope", f"cameras {', '.join(scope['cameras'])}"),
        " " * VALUE_COLUMN + _one(f"from {scope['from']} to {scope['to']}"),
        _field("Filed", req["created_at"]),
        "",
        "DECISION",
        _field("Outcome", dec["outcome"].replace("_", " ")),
        *_block("Reason", dec["reason"]),
        _field("Decided at", f"{dec['decided_at']} by the vault owner"),
        *_block("Terms", dec.get("terms") or "-"),
        _field("Expires", dec.get("expires_at") or "-"),
        "",
    ]
    clips = receipt.get("clips", [])
    if clips:
        lines.append(f"WHAT WAS GIVEN ({len(clips)} clip(s))")
        for c in clips:
            lines.append(_one(f"  {c['id']}  camera {c['camera']}  captured {c['captured_at']}"))
            lines.append(f"    original: {c['size']} bytes  sha256 {_one(c['sha256'])}")
            d = c.get("delivered")
            if d:
                lines.append(_one(f"    delivered: {d['file']} ({d['format']}) {d['size']} bytes"))
                lines.append(f"               sha256 {_one(d['sha256'])}")
    else:
        lines.append("WHAT WAS GIVEN: nothing")
    exp = receipt.get("export")
    lines.append("")
    if exp:
        lines.append(_one(f"EXPORT {exp['id']} ({exp['format']}) at {exp['created_at']}"))
        lines.append("")
    lines.append("PROOF")
    for e in receipt["audit"]["entries"]:
        lines.append(_one(f"  audit entry {e['index']} ({e['role']}) is in the owner's signed log"))
    lines.append(f"  signed by Ed25519 key {_one(receipt['signature']['public_key'])}")
    lines.append("")
    lines.append("Check it offline: ringfence receipt verify <this folder>")
    return "\n".join(lines) + "\n"


KANTARA_PURPOSE = {
    "police": "Law enforcement request",
    "court": "Legal proceedings",
    "insurer": "Insurance claim",
    "neighbour": "Request from a neighbour",
    "owner": "Owner's own use",
    "other": "Other request",
}
KANTARA_VERSION = "KI-CR-v1.1.0"
#: What a required Kantara member says when the request did not record it.
NOT_GIVEN = "not given in the request"
#: An approval without --expires allows exports until the request is withdrawn.
NO_EXPIRY = "when the owner withdraws the request (no expiry was set)"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9][0-9 ()./-]{5,}")
#: The optional ``record`` block (newer receipts), checked before it is read.
_KANTARA_RECORD = {"language": str, "notice": (str, type(None)),
                   "storage_location": (str, type(None)),
                   "retention_until": (str, type(None)), "owner_contact": (str, type(None))}


def _epoch_seconds(text: str, where: str) -> int:
    """Seconds since the epoch of a receipt time, as ``iso()`` writes it."""
    try:
        when = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise IntegrityError(f"receipt field {where}: not a UTC time like "
                             "2026-11-28T14:00:00Z") from None
    return int(when.timestamp())


def to_kantara(receipt: dict[str, Any]) -> dict[str, Any]:
    """The receipt as a Kantara Consent Receipt v1.1 object (docs/receipts.md).

    Who consents is the owner, who decides about footage they control: the
    owner is the PII principal. The requester's organisation becomes the PII
    controller of the copy it receives; the purpose is the request's reason,
    the legal basis the request's basis, and the disclosure is to the
    requester. A refusal is not a consent and Kantara v1.1 has no form for
    one, so it is a UsageError rather than a document a consumer of consent
    receipts could take for consent.
    """
    req, dec = receipt["request"], receipt["decision"]
    if dec["outcome"] not in ("approved", "partly_approved"):
        # The outcome is receipt text: it is not echoed to the terminal.
        what = "a refusal" if dec["outcome"] == "refused" else "no consent"
        raise UsageError(
            f"this receipt records {what}: Kantara Consent Receipt v1.1 has no form for a "
            "refusal (every Kantara receipt records a consent); use `ringfence receipt show` "
            "or receipt.json"
        )
    record = receipt.get("record")
    if record is None:  # a receipt from before the record block
        record = {}
    else:
        _check_shape(record, _KANTARA_RECORD, "record.")
    jurisdiction = receipt.get("jurisdiction")
    _check_shape(jurisdiction, _OPT, "jurisdiction")
    contact = req.get("contact") or ""
    origin = receipt["controller"]["vault_origin"]
    requester = f"{req['requester']} ({req['organisation']})"
    return {
        "version": KANTARA_VERSION,
        "jurisdiction": jurisdiction or "unspecified",
        "consentTimestamp": _epoch_seconds(dec["decided_at"], "decision.decided_at"),
        "collectionMethod": "the owner's signed decision on a footage request",
        "consentReceiptID": receipt["receipt_id"],
        "publicKey": receipt["signature"]["public_key"],
        "language": record.get("language") or "en",
        "piiPrincipalId": f"{origin}/owner",
        "piiControllers": [
            {
                "piiController": req["organisation"],
                "contact": req["requester"] + (f" ({contact})" if contact else ""),
                "address": {"description": NOT_GIVEN},
                "email": contact if _EMAIL.fullmatch(contact) else NOT_GIVEN,
                "phone": contact if _PHONE.fullmatch(contact) else NOT_GIVEN,
            }
        ],
        "policyUrl": f"urn:ringfence:receipt:{receipt['receipt_id']}#decision.terms",
        "services": [
            {
                "service": "disclosure of camera footage",
                "purposes": [
                    {
                        "purpose": req["reason"],
                        "purposeCategory": [KANTARA_PURPOSE.get(req["kind"], "Other request")],
                        "consentType": "EXPLICIT",
                        "piiCategory": ["video footage"],
                        "primaryPurpose": True,
                        "termination": dec.get("expires_at") or NO_EXPIRY,
                        "thirdPartyDisclosure": True,
                        "thirdPartyName": requester,
                    }
                ],
            }
        ],
        "sensitive": True,
        "spiCat": ["images of identifiable people"],
        "x-ringfence": {
            "legalBasis": req["basis"],
            "reference": req.get("reference"),
            "decision": dec["outcome"],
            "decisionReason": dec["reason"],
            "terms": dec.get("terms"),
            "ownerContact": record.get("owner_contact"),
            "storageLocation": record.get("storage_location"),
            "clips": [{"id": c["id"], "sha256": c["sha256"]} for c in receipt.get("clips", [])],
        },
    }


# --- verification --------------------------------------------------------------------


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class VerifyReport:
    checks: list[Check] = field(default_factory=list)
    receipt: dict[str, Any] | None = None
    #: True only when the signing key was given by the verifier (--owner-key);
    #: otherwise the signature proves integrity, not who signed.
    signer_pinned: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, detail: str = "") -> None:
        # Names and details quote the folder's file names and the receipt's
        # text, which whoever made the folder chose: escape them once, here.
        self.checks.append(Check(shown(name), ok, shown(detail)))

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "signer_pinned": self.signer_pinned,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
        }


_TEXT = str
_OPT = (str, type(None))
#: The shape of a receipt: field -> type, tuple of types, nested dict, or
#: [item shape] for a list. Checked before anything reads a field.
_ENTRY = {"role": _TEXT, "index": int, "entry": _TEXT, "proof": _TEXT}
_DELIVERED = {"file": _TEXT, "format": _TEXT, "size": int, "sha256": _TEXT}
_CLIP = {"id": _TEXT, "camera": _TEXT, "captured_at": _TEXT, "size": int, "sha256": _TEXT}
SHAPE: dict[str, Any] = {
    "version": _TEXT,
    "receipt_id": _TEXT,
    "issued_at": _TEXT,
    "controller": {"vault_origin": _TEXT},
    "request": {
        "id": _TEXT, "requester": _TEXT, "organisation": _TEXT, "kind": _TEXT,
        "contact": _OPT, "basis": _TEXT, "reference": _OPT, "reason": _TEXT,
        "scope": {"cameras": [_TEXT], "from": _TEXT, "to": _TEXT},
        "deadline": _OPT, "created_at": _TEXT,
    },
    "decision": {
        "id": _TEXT, "outcome": _TEXT, "reason": _TEXT, "decided_at": _TEXT,
        "terms": _OPT, "expires_at": _OPT,
    },
    "clips": [_CLIP],
    "audit": {"checkpoint": _TEXT, "entries": [_ENTRY]},
    "signature": {"alg": _TEXT, "public_key": _TEXT, "value": _TEXT},
}


def _check_shape(value: Any, shape: Any, where: str) -> None:
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            raise IntegrityError(f"receipt field {where or 'top level'}: must be an object")
        for key, sub in shape.items():
            if key not in value:
                raise IntegrityError(f"receipt field {where}{key}: missing")
            _check_shape(value[key], sub, f"{where}{key}.")
    elif isinstance(shape, list):
        if not isinstance(value, list):
            raise IntegrityError(f"receipt field {where.rstrip('.')}: must be a list")
        for i, item in enumerate(value):
            _check_shape(item, shape[0], f"{where.rstrip('.')}[{i}].")
    else:
        types = shape if isinstance(shape, tuple) else (shape,)
        if isinstance(value, bool) or not isinstance(value, types):
            raise IntegrityError(f"receipt field {where.rstrip('.')}: wrong type")


def check_shape(receipt: Any) -> None:
    """Every field the verifier and the renderers read is there, with its type."""
    _check_shape(receipt, SHAPE, "")
    for i, clip in enumerate(receipt["clips"]):
        if clip.get("delivered") is not None:
            _check_shape(clip["delivered"], _DELIVERED, f"clips[{i}].delivered.")
    export = receipt.get("export")
    if export is not None:
        _check_shape(export, {"id": _TEXT, "format": _TEXT, "created_at": _TEXT}, "export.")


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
                entry_bytes, e["proof"], [verifier], required_signer=owner_name,
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
        if entry.get("type") != "request.decided" or entry.get("subject") != req_id:
            return False, "not the decision entry of this request"
        if details.get("outcome") != receipt["decision"]["outcome"]:
            return False, "the logged outcome differs from the receipt"
        want = sorted((c["id"], c["sha256"]) for c in receipt.get("clips", []))
        got = sorted((c.get("id"), c.get("sha256")) for c in details.get("clips", []))
        if want != got:
            return False, "the logged clips differ from the receipt"
        return True, ""
    if role == "export":
        exp = receipt.get("export") or {}
        if entry.get("type") != "export.created" or entry.get("subject") != exp.get("id"):
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
    _check_files(report, folder, receipt, whole_folder=is_folder)
    return report


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


def _check_files(report: VerifyReport, folder: Path, receipt: dict[str, Any], *,
                 whole_folder: bool) -> None:
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
            report.add("audit-proof.txt matches receipt.json",
                       bool(entries) and proof == entries[-1]["proof"])
        except (OSError, UnicodeDecodeError) as exc:
            report.add("audit-proof.txt matches receipt.json", False, _why(exc))
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


def _read_text(path: Path) -> str:
    return read_regular(path, MAX_RECEIPT).decode("utf-8")


def _why(exc: Exception) -> str:
    if isinstance(exc, OSError):
        if exc.errno == errno.ELOOP:
            return "a symlink"
        return exc.strerror or str(exc)
    return "not UTF-8 text"
