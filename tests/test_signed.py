"""vault.signed: one sign/verify pair for every signed JSON document, old ones included."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vault import decision, receipts, signed
from vault.audit.note import NoteSigner
from vault.canonical import canonical_json
from vault.errors import IntegrityError
from vault.retention import RECORD_CONTEXT, sign_record, verify_record

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
BODY: dict[str, Any] = {"version": "x/1", "id": "doc_1", "items": [1, 2, {"a": None}]}


def _as_receipts_signed_them(body: dict[str, Any], context: bytes) -> dict[str, Any]:
    """A document exactly as receipts, decisions and hold releases were signed before
    vault.signed existed: written out by hand here, so old files keep verifying."""
    raw = KEY.public_key().public_bytes_raw()
    return {
        **body,
        "signature": {
            "alg": "Ed25519",
            "public_key": base64.b64encode(raw).decode(),
            "value": base64.b64encode(KEY.sign(context + canonical_json(body))).decode(),
        },
    }


def _as_deletion_records_were(body: dict[str, Any], signer: NoteSigner) -> dict[str, Any]:
    return {
        **body,
        "signature": {
            "alg": "Ed25519",
            "key": signer.verifier_key(),
            "value": base64.b64encode(signer.sign(RECORD_CONTEXT + canonical_json(body))).decode(),
        },
    }


def test_the_owners_documents_are_signed_as_before() -> None:
    for context in (receipts.SIGNING_CONTEXT, decision.SIGNING_CONTEXT):
        old = _as_receipts_signed_them(BODY, context)
        assert signed.sign(BODY, KEY, context=context) == old
        assert receipts.sign(BODY, KEY, context=context) == old
        assert receipts.check_signature(old, signed.raw_public(KEY), context=context) == (
            signed.raw_public(KEY)
        )


def test_deletion_records_are_signed_as_before() -> None:
    signer = NoteSigner("vault.example/device", KEY)
    old = _as_deletion_records_were(BODY, signer)
    assert sign_record(BODY, signer) == old
    verify_record(old, signer.verifier_key())


def test_one_key_form_never_passes_for_the_other() -> None:
    signer = NoteSigner("vault.example/device", KEY)
    record = sign_record(BODY, signer)
    with pytest.raises(IntegrityError, match="malformed"):
        receipts.check_signature(record, context=RECORD_CONTEXT)
    doc = signed.sign(BODY, KEY, context=RECORD_CONTEXT)
    with pytest.raises(IntegrityError, match="another key"):
        verify_record(doc, signer.verifier_key())


def test_contexts_keep_kinds_apart() -> None:
    doc = signed.sign(BODY, KEY, context=receipts.SIGNING_CONTEXT)
    with pytest.raises(IntegrityError, match="does not verify"):
        signed.verify(doc, context=decision.SIGNING_CONTEXT, what="the decision")


def test_a_pinned_key_is_required_when_given() -> None:
    doc = signed.sign(BODY, OTHER, context=b"c\n")
    assert signed.verify(doc, context=b"c\n", what="it") == signed.raw_public(OTHER)
    with pytest.raises(IntegrityError, match="different key"):
        signed.verify(doc, context=b"c\n", what="it", public_key=signed.raw_public(KEY))


@pytest.mark.parametrize(
    "block",
    [
        None,
        "x",
        {"alg": "RSA"},
        {"alg": "Ed25519"},
        {"alg": "Ed25519", "public_key": "!!", "value": "AA=="},
        {"alg": "Ed25519", "public_key": 5, "value": 5},
    ],
)
def test_broken_blocks_are_integrity_errors(block: Any) -> None:
    doc = {**BODY, "signature": block}
    with pytest.raises(IntegrityError):
        signed.verify(doc, context=b"c\n", what="it")


def test_a_signed_document_is_not_signed_again() -> None:
    with pytest.raises(ValueError):
        signed.sign(signed.sign(BODY, KEY, context=b"c\n"), KEY, context=b"c\n")


def test_raw_public_is_the_one_computation() -> None:
    raw = KEY.public_key().public_bytes_raw()
    assert signed.raw_public(KEY) == signed.raw_public(KEY.public_key()) == raw
    assert NoteSigner("n", KEY).public_key == raw
    assert signed.public_b64(KEY) == base64.b64encode(raw).decode()
