"""Signing a receipt, and checking a receipt's signature.

A receipt is a signed JSON document (vault.signed) under its own context;
the signer is named by its raw public key, which the verifier may pin.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vault import signed
from vault.audit.note import VerifierKey, key_id
from vault.signed import raw_public

__all__ = [
    "SIGNING_CONTEXT",
    "VERSION",
    "check_signature",
    "note_verifier_key",
    "raw_public",
    "sign",
]

from vault.receipts.format import VERSION

SIGNING_CONTEXT = b"ringfence-receipt/1\n"


def note_verifier_key(name: str, public: bytes) -> str:
    """The C2SP signed-note verifier key string for an Ed25519 public key."""
    return VerifierKey(name, key_id(name, public), public).encode()


def sign(
    body: dict[str, Any], key: Ed25519PrivateKey, *, context: bytes = SIGNING_CONTEXT
) -> dict[str, Any]:
    """Return *body* with a ``signature`` member over *context* and its canonical form.

    The owner's documents (receipts, decisions, hold releases) are all signed
    here; *context* keeps them from ever passing for each other.
    """
    if "signature" in body:
        raise ValueError("body is already signed")
    return signed.sign(body, key, context=context)


def check_signature(
    receipt: dict[str, Any],
    pinned_key: bytes | None = None,
    *,
    context: bytes = SIGNING_CONTEXT,
    what: str = "the receipt",
) -> bytes:
    """Verify a document's signature (see :func:`sign`); return the signer's raw public key."""
    return signed.verify(receipt, context=context, what=what, public_key=pinned_key)
