"""The receipt format: its version, the files of an export folder, its shape.

The shape is checked before anything reads a field, so a receipt from
someone else can fail only with an IntegrityError that names the field.
"""

from __future__ import annotations

from typing import Any

from vault.errors import IntegrityError

VERSION = "ringfence-receipt/1"
RECEIPT_JSON = "receipt.json"
RECEIPT_TXT = "receipt.txt"
PROOF_TXT = "audit-proof.txt"
#: The most verify reads of receipt.json, receipt.txt or audit-proof.txt. A
#: receipt for thousands of clips is a few MiB; a bigger file is not one.
MAX_RECEIPT = 16 << 20

_TEXT = str
OPT = (str, type(None))
#: The shape of a receipt: field -> type, tuple of types, nested dict, or
#: [item shape] for a list. Checked before anything reads a field.
_ENTRY = {"role": _TEXT, "index": int, "entry": _TEXT, "proof": _TEXT}
_DELIVERED = {"file": _TEXT, "format": _TEXT, "size": int, "sha256": _TEXT}
_DERIVED = {"derived_from": {"clip": _TEXT, "sha256": _TEXT}, "operations": [dict]}
_RELEASE = {"version": _TEXT, "choices": dict, "clips": [{"clip": _TEXT, "operations": [dict]}]}
_CLIP = {"id": _TEXT, "camera": _TEXT, "captured_at": _TEXT, "size": int, "sha256": _TEXT}
SHAPE: dict[str, Any] = {
    "version": _TEXT,
    "receipt_id": _TEXT,
    "issued_at": _TEXT,
    "controller": {"vault_origin": _TEXT},
    "request": {
        "id": _TEXT,
        "requester": _TEXT,
        "organisation": _TEXT,
        "kind": _TEXT,
        "contact": OPT,
        "basis": _TEXT,
        "reference": OPT,
        "reason": _TEXT,
        "scope": {"cameras": [_TEXT], "from": _TEXT, "to": _TEXT},
        "deadline": OPT,
        "created_at": _TEXT,
    },
    "decision": {
        "id": _TEXT,
        "outcome": _TEXT,
        "reason": _TEXT,
        "decided_at": _TEXT,
        "terms": OPT,
        "expires_at": OPT,
    },
    "clips": [_CLIP],
    "audit": {"checkpoint": _TEXT, "entries": [_ENTRY]},
    "signature": {"alg": _TEXT, "public_key": _TEXT, "value": _TEXT},
}


def check_fields(value: Any, shape: Any, where: str) -> None:
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            raise IntegrityError(f"receipt field {where or 'top level'}: must be an object")
        for key, sub in shape.items():
            if key not in value:
                raise IntegrityError(f"receipt field {where}{key}: missing")
            check_fields(value[key], sub, f"{where}{key}.")
    elif isinstance(shape, list):
        if not isinstance(value, list):
            raise IntegrityError(f"receipt field {where.rstrip('.')}: must be a list")
        for i, item in enumerate(value):
            check_fields(item, shape[0], f"{where.rstrip('.')}[{i}].")
    else:
        types = shape if isinstance(shape, tuple) else (shape,)
        if isinstance(value, bool) or not isinstance(value, types):
            raise IntegrityError(f"receipt field {where.rstrip('.')}: wrong type")


def check_shape(receipt: Any) -> None:
    """Every field the verifier and the renderers read is there, with its type."""
    check_fields(receipt, SHAPE, "")
    for i, clip in enumerate(receipt["clips"]):
        d = clip.get("delivered")
        if d is not None:
            check_fields(d, _DELIVERED, f"clips[{i}].delivered.")
            if "derived_from" in d or "operations" in d:
                check_fields(d, _DERIVED, f"clips[{i}].delivered.")
                for j, op in enumerate(d["operations"]):
                    check_fields(op, {"op": _TEXT}, f"clips[{i}].delivered.operations[{j}].")
    if "release" in receipt:
        check_fields(receipt["release"], _RELEASE, "release.")
    export = receipt.get("export")
    if export is not None:
        check_fields(export, {"id": _TEXT, "format": _TEXT, "created_at": _TEXT}, "export.")
