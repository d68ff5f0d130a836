"""A receipt for humans (receipt.txt) and as a Kantara Consent Receipt v1.1.

Deterministic: verify regenerates receipt.txt from receipt.json and compares.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from vault.errors import IntegrityError, UsageError
from vault.receipts.format import OPT, check_fields
from vault.requests import RELEASABLE, Outcome
from vault.safetext import shown, shown_lines

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
    return [
        f"  {label + ':':<{VALUE_COLUMN - 2}}{first}",
        *((CONTINUATION + line).rstrip() for line in rest),
    ]


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
_KANTARA_RECORD = {
    "language": str,
    "notice": (str, type(None)),
    "storage_location": (str, type(None)),
    "retention_until": (str, type(None)),
    "owner_contact": (str, type(None)),
}


def _epoch_seconds(text: str, where: str) -> int:
    """Seconds since the epoch of a receipt time, as ``iso()`` writes it."""
    try:
        when = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise IntegrityError(
            f"receipt field {where}: not a UTC time like 2026-11-28T14:00:00Z"
        ) from None
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
    if dec["outcome"] not in RELEASABLE:
        # The outcome is receipt text: it is not echoed to the terminal.
        what = "a refusal" if dec["outcome"] == Outcome.REFUSED else "no consent"
        raise UsageError(
            f"this receipt records {what}: Kantara Consent Receipt v1.1 has no form for a "
            "refusal (every Kantara receipt records a consent); use `ringfence receipt show` "
            "or receipt.json"
        )
    record = receipt.get("record")
    if record is None:  # a receipt from before the record block
        record = {}
    else:
        check_fields(record, _KANTARA_RECORD, "record.")
    jurisdiction = receipt.get("jurisdiction")
    check_fields(jurisdiction, OPT, "jurisdiction")
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
