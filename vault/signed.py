"""Signed JSON documents: the one way the vault signs and checks a document.

A signed document is a JSON object with a ``signature`` member: an Ed25519
signature over ``context ‖ canonical JSON of every other member``. The
context keeps documents of different kinds (receipts, decisions, hold
releases, deletion records) from ever passing for each other.

The signature block names its signer in one of two forms, both readable
forever because documents of both kinds lie on disk and in the log:

``public_key`` (:data:`RAW_KEY`)
    base64 of the raw 32-byte public key: the owner's documents (receipts,
    decisions, hold releases), checked against a key the verifier pins.
``key`` (:data:`NOTE_KEY`)
    a signed-note verifier key (``name+keyid+base64``): deletion records,
    signed by the device key, checked against the verifier key in config.toml.

Pure: no vault, no catalog.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vault.canonical import canonical_json
from vault.errors import IntegrityError

ALG = "Ed25519"
RAW_KEY = "public_key"
NOTE_KEY = "key"
SIGNATURE = "signature"


def raw_public(key: Ed25519PublicKey | Ed25519PrivateKey) -> bytes:
    """The raw 32 bytes of an Ed25519 public key (of a private key: its public half)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_b64(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """The form a :data:`RAW_KEY` block (and config.toml) names a key in."""
    return base64.b64encode(raw_public(key)).decode()


def _message(context: bytes, document: dict[str, Any]) -> bytes:
    return context + canonical_json({k: v for k, v in document.items() if k != SIGNATURE})


def sign(
    body: dict[str, Any], key: Ed25519PrivateKey, *, context: bytes, note_key: str | None = None
) -> dict[str, Any]:
    """*body* with a ``signature`` member over *context* and its canonical form.

    The block names the signer by its raw public key, or by *note_key* (a
    signed-note verifier key string of the same key) when given.
    """
    if SIGNATURE in body:
        raise ValueError("the document is already signed")
    value = key.sign(_message(context, body))
    named = {NOTE_KEY: note_key} if note_key is not None else {RAW_KEY: public_b64(key)}
    return {**body, SIGNATURE: {"alg": ALG, **named, "value": base64.b64encode(value).decode()}}


def verify(
    document: dict[str, Any],
    *,
    context: bytes,
    what: str,
    public_key: bytes | None = None,
    note_key: str | None = None,
) -> bytes:
    """Check *document*'s signature; return the signer's raw public key.

    With *note_key* (a verifier key string, already parsed by the caller into
    *public_key*) the block must name exactly that key. Otherwise the block
    carries the raw key; with *public_key* it must be that one (compared in
    constant time), without it the document only proves it was not altered
    since someone signed it. IntegrityError says which rule failed.
    """
    sig = document.get(SIGNATURE)
    if not isinstance(sig, dict) or sig.get("alg") != ALG:
        raise IntegrityError(f"{what} has no Ed25519 signature")
    try:
        value = base64.b64decode(sig["value"], validate=True)
        if note_key is not None:
            if public_key is None:
                raise ValueError("a note key needs its public key")
            public = public_key
        else:
            public = base64.b64decode(sig[RAW_KEY], validate=True)
        key = Ed25519PublicKey.from_public_bytes(public)
    except (KeyError, ValueError, TypeError, binascii.Error):
        raise IntegrityError(f"{what}'s signature block is malformed") from None
    if note_key is not None:
        if sig.get(NOTE_KEY) != note_key:
            raise IntegrityError(f"{what} is signed by another key")
    elif public_key is not None and not hmac.compare_digest(public, public_key):
        raise IntegrityError(f"{what} is signed by a different key than the owner's")
    try:
        key.verify(value, _message(context, document))
    except InvalidSignature:
        raise IntegrityError(f"{what}'s signature does not verify") from None
    return public
