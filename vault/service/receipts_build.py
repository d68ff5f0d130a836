"""Building a request's receipts from the catalog and the audit log.

The receipt's body is made by vault.receipts.build from plain facts; this
adapter only reads those facts from the service (the request, the decision
row, the decided clips, the audit entries and their proofs). It stays here
because it reads the catalog and the log through the service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from vault import receipts
from vault.audit.note import parse_checkpoint, split_note
from vault.canonical import parse_canonical
from vault.catalog.models import Decision
from vault.keys import OwnerKeys
from vault.receipts import build

if TYPE_CHECKING:
    from vault.service.requests import ReceiptSource as RequestOps


def audit_entry_with_proof(vault: RequestOps, index: int, role: str, note: str) -> dict[str, Any]:
    """An audit entry and its tlog-proof against the checkpoint *note*."""
    size = parse_checkpoint(split_note(note)[0]).size
    hashes = vault.audit.inclusion_proof(index, size)
    return build.audit_entry(index, role, vault.audit.entry(index), hashes, note)


def _base(vault: RequestOps, request_id: str) -> tuple[dict[str, Any], Any]:
    info = vault.request(request_id)
    with vault.reader.connect() as conn:
        dec = conn.execute(select(Decision).where(Decision.request_id == request_id)).first()
    assert dec is not None
    body = build.base_body(
        receipt_id=vault.new_id("decision").replace("dec_", "rcp_"),
        issued_at=vault.clock(),
        controller=vault.config,
        info=info,
        dec=dec,
    )
    return body, dec


def _release(dec: Any) -> dict[str, Any] | None:
    """The release plan the decision signed (None: whole clips, an older decision)."""
    return None if dec.release is None else parse_canonical(dec.release.encode())


def consent_record_fields(vault: RequestOps, dec: Any) -> dict[str, Any]:
    """The consent-record members of a receipt (vault.receipts.build)."""
    return build.consent_record_fields(vault.config, dec)


def decided_clips(vault: RequestOps, decision_id: str) -> list[dict[str, Any]]:
    from vault.service.requests import decided_clip_facts

    with vault.reader.connect() as conn:
        return decided_clip_facts(conn, decision_id)


def decision_receipt(
    vault: RequestOps, request_id: str, note: str, keys: OwnerKeys
) -> dict[str, Any]:
    body, dec = _base(vault, request_id)
    build.complete(
        body,
        clips=decided_clips(vault, dec.id),
        export=None,
        note=note,
        release=_release(dec),
        entries=[audit_entry_with_proof(vault, dec.audit_index, "decision", note)],
    )
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
    build.complete(
        body,
        clips=clips,
        export=export,
        note=note,
        release=_release(dec),
        entries=[
            audit_entry_with_proof(vault, dec.audit_index, "decision", note),
            audit_entry_with_proof(vault, export_index, "export", note),
        ],
    )
    return receipts.sign(body, keys.signing_key)
