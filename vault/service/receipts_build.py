"""Building a request's receipts from the catalog and the audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from vault import receipts
from vault.audit.note import parse_checkpoint, split_note
from vault.audit.proof import format_inclusion_proof
from vault.catalog.models import Decision
from vault.ids import new_id
from vault.keys import OwnerKeys
from vault.timeutil import iso

if TYPE_CHECKING:
    from vault.service.requests import ReceiptSource as RequestOps


def audit_entry_with_proof(vault: RequestOps, index: int, role: str, note: str) -> dict[str, Any]:
    """An audit entry and its tlog-proof against the checkpoint *note*."""
    size = parse_checkpoint(split_note(note)[0]).size
    hashes = vault.audit.inclusion_proof(index, size)
    return {
        "role": role,
        "index": index,
        "entry": vault.audit.entry(index).decode("utf-8"),
        "proof": format_inclusion_proof(index, hashes, note),
    }


def _base(vault: RequestOps, request_id: str) -> tuple[dict[str, Any], Any]:
    info = vault.request(request_id)
    with vault.reader.connect() as conn:
        dec = conn.execute(select(Decision).where(Decision.request_id == request_id)).first()
    assert dec is not None
    body: dict[str, Any] = {
        "version": receipts.VERSION,
        "receipt_id": new_id("decision").replace("dec_", "rcp_"),
        "issued_at": iso(vault.clock()),
        "jurisdiction": None,
        "controller": {
            "role": "vault owner",
            "vault_origin": vault.config.origin,
            "signing_public_key": vault.config.signing_public_key,
        },
        "request": {
            "id": info.id,
            "requester": info.requester,
            "organisation": info.organisation,
            "kind": info.kind,
            "contact": info.contact,
            "basis": info.basis,
            "reference": info.reference,
            "reason": info.reason,
            "scope": {
                "cameras": info.cameras,
                "from": iso(info.scope_from),
                "to": iso(info.scope_to),
            },
            "deadline": iso(info.deadline),
            "created_at": iso(info.created_at),
            "attachments": [{"name": a["name"], "sha256": a["sha256"]} for a in info.attachments],
        },
        "decision": {
            "id": dec.id,
            "outcome": dec.outcome,
            "reason": dec.reason,
            "decided_at": iso(dec.decided_at),
            "terms": dec.terms,
            "expires_at": iso(dec.expires_at),
        },
    }
    body.update(consent_record_fields(vault, dec))
    return body, dec


def consent_record_fields(vault: RequestOps, dec: Any) -> dict[str, Any]:
    """The receipt members that complete it as an ISO/IEC TS 27560 consent
    record (docs/receipts.md): the jurisdiction and the owner's contact from
    ``[receipt]`` in config.toml, and the record block. Receipts without them
    (older ones) still verify: the verifier does not require them."""
    released = dec.outcome in ("approved", "partly_approved")
    return {
        "jurisdiction": vault.config.receipt_jurisdiction,
        "record": {
            "language": "en",
            "notice": dec.terms,
            "storage_location": "the requester's copy" if released else None,
            "retention_until": iso(dec.expires_at) if released else None,
            "owner_contact": vault.config.receipt_contact,
        },
    }


def decided_clips(vault: RequestOps, decision_id: str) -> list[dict[str, Any]]:
    from vault.service.requests import decided_clip_facts

    with vault.reader.connect() as conn:
        return decided_clip_facts(conn, decision_id)


def decision_receipt(
    vault: RequestOps, request_id: str, note: str, keys: OwnerKeys
) -> dict[str, Any]:
    body, dec = _base(vault, request_id)
    body["clips"] = decided_clips(vault, dec.id)
    body["export"] = None
    body["audit"] = {
        "checkpoint": note,
        "entries": [audit_entry_with_proof(vault, dec.audit_index, "decision", note)],
    }
    return receipts.sign(body, keys.signing_key)


def export_receipt(
    vault: RequestOps,
    request_id: str,
    export: dict[str, Any],
    delivered: dict[str, dict[str, Any]],
    export_index: int,
    note: str,
    keys: OwnerKeys,
) -> dict[str, Any]:
    body, dec = _base(vault, request_id)
    clips = decided_clips(vault, dec.id)
    for c in clips:
        c["delivered"] = delivered.get(c["id"])
    body["clips"] = clips
    body["export"] = export
    body["audit"] = {
        "checkpoint": note,
        "entries": [
            audit_entry_with_proof(vault, dec.audit_index, "decision", note),
            audit_entry_with_proof(vault, export_index, "export", note),
        ],
    }
    return receipts.sign(body, keys.signing_key)
