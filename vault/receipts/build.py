"""A receipt's body from the facts of a request, its decision and the audit log.

Pure: the caller (vault.service.receipts_build) reads the catalog and the log
and hands the facts in; what comes out is the unsigned body that
vault.receipts.sign signs. The facts are taken by shape (any object with the
attributes below), so neither the catalog's rows nor the service's result
types are imported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from vault.audit.proof import format_inclusion_proof
from vault.receipts.format import VERSION
from vault.requests import RELEASABLE
from vault.timeutil import iso


class RequestFacts(Protocol):
    """What a receipt states about the request (vault.service.requests.RequestInfo)."""

    @property
    def id(self) -> str: ...
    @property
    def requester(self) -> str: ...
    @property
    def organisation(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def contact(self) -> str | None: ...
    @property
    def basis(self) -> str: ...
    @property
    def reference(self) -> str | None: ...
    @property
    def reason(self) -> str: ...
    @property
    def cameras(self) -> list[str]: ...
    @property
    def scope_from(self) -> datetime: ...
    @property
    def scope_to(self) -> datetime: ...
    @property
    def deadline(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def attachments(self) -> Sequence[Mapping[str, Any]]: ...


class DecisionFacts(Protocol):
    """What a receipt states about the decision (the catalog's decision row)."""

    @property
    def id(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def decided_at(self) -> datetime: ...
    @property
    def terms(self) -> str | None: ...
    @property
    def expires_at(self) -> datetime | None: ...


class Controller(Protocol):
    """The vault's own facts a receipt names (vault.config.Config)."""

    @property
    def origin(self) -> str: ...
    @property
    def signing_public_key(self) -> str: ...
    @property
    def receipt_jurisdiction(self) -> str | None: ...
    @property
    def receipt_contact(self) -> str | None: ...


def audit_entry(
    index: int, role: str, entry: bytes, hashes: Sequence[bytes], note: str
) -> dict[str, Any]:
    """An audit entry as a receipt carries it: its bytes and its tlog-proof against *note*."""
    return {
        "role": role,
        "index": index,
        "entry": entry.decode("utf-8"),
        "proof": format_inclusion_proof(index, hashes, note),
    }


def consent_record_fields(controller: Controller, dec: DecisionFacts) -> dict[str, Any]:
    """The receipt members that complete it as an ISO/IEC TS 27560 consent
    record (docs/receipts.md): the jurisdiction and the owner's contact from
    ``[receipt]`` in config.toml, and the record block. Receipts without them
    (older ones) still verify: the verifier does not require them."""
    released = dec.outcome in RELEASABLE
    return {
        "jurisdiction": controller.receipt_jurisdiction,
        "record": {
            "language": "en",
            "notice": dec.terms,
            "storage_location": "the requester's copy" if released else None,
            "retention_until": iso(dec.expires_at) if released else None,
            "owner_contact": controller.receipt_contact,
        },
    }


def base_body(
    *,
    receipt_id: str,
    issued_at: datetime,
    controller: Controller,
    info: RequestFacts,
    dec: DecisionFacts,
) -> dict[str, Any]:
    """Every member of a receipt but its clips, export and audit entries."""
    body: dict[str, Any] = {
        "version": VERSION,
        "receipt_id": receipt_id,
        "issued_at": iso(issued_at),
        "jurisdiction": None,
        "controller": {
            "role": "vault owner",
            "vault_origin": controller.origin,
            "signing_public_key": controller.signing_public_key,
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
    body.update(consent_record_fields(controller, dec))
    return body


def complete(
    body: dict[str, Any],
    *,
    clips: list[dict[str, Any]],
    export: dict[str, Any] | None,
    note: str,
    entries: list[dict[str, Any]],
    release: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """*body* with what was given, the export (None for a decision's receipt), the
    release plan the owner signed (vault.transform.plan; absent for whole clips
    decided before plans existed) and the audit entries that prove them against
    the checkpoint *note*."""
    if release is not None:
        body["release"] = release
    body["clips"] = clips
    body["export"] = export
    body["audit"] = {"checkpoint": note, "entries": entries}
    return body
