"""Consent receipts: build, sign, render, and verify offline.

A receipt is canonical JSON (vault.canonical) signed with the owner's Ed25519
key. It names the request, the decision, the exact clips released (or none,
for a refusal), what was delivered with its hashes, and the audit log entries
that recorded the decision and the export, each with an inclusion proof
against a checkpoint the owner signed.

format  the version, the export folder's file names, the shape of a receipt
build   a receipt's body from the request's and the decision's facts
sign    the owner's signature over it (vault.signed)
render  receipt.txt for humans, and the Kantara Consent Receipt v1.1 form
verify  what a requester runs, offline, on what they received

Every module here is pure: no vault, no catalog, no database driver, so
``import vault.receipts.verify`` is all a requester's machine loads. The old
names stay importable from ``vault.receipts``.
"""

from vault.receipts.format import (
    MAX_RECEIPT,
    PROOF_TXT,
    RECEIPT_JSON,
    RECEIPT_TXT,
    SHAPE,
    VERSION,
    check_shape,
)
from vault.receipts.render import (
    CONTINUATION,
    KANTARA_PURPOSE,
    KANTARA_VERSION,
    NO_EXPIRY,
    NOT_GIVEN,
    VALUE_COLUMN,
    render_text,
    to_kantara,
)
from vault.receipts.sign import (
    SIGNING_CONTEXT,
    check_signature,
    note_verifier_key,
    raw_public,
    sign,
)
from vault.receipts.verify import READ_CHUNK, Check, VerifyReport, load_receipt, verify_folder

__all__ = [
    "CONTINUATION",
    "KANTARA_PURPOSE",
    "KANTARA_VERSION",
    "MAX_RECEIPT",
    "NOT_GIVEN",
    "NO_EXPIRY",
    "PROOF_TXT",
    "READ_CHUNK",
    "RECEIPT_JSON",
    "RECEIPT_TXT",
    "SHAPE",
    "SIGNING_CONTEXT",
    "VALUE_COLUMN",
    "VERSION",
    "Check",
    "VerifyReport",
    "check_shape",
    "check_signature",
    "load_receipt",
    "note_verifier_key",
    "raw_public",
    "render_text",
    "sign",
    "to_kantara",
    "verify_folder",
]
