"""Ed25519 cosignatures (c2sp.org/tlog-cosignature, the ``cosignature/v1`` type).

A cosignature is a signed-note signature line on a checkpoint:
``— <witness name> base64(key ID || timestamp || signature)``. The key ID uses
signature type 0x04, not the 0x01 of ordinary note signatures:
SHA-256(name || 0x0A || 0x04 || public key)[:4], so a cosigner key can never be
mistaken for a log's key. The timestamp is 8 bytes, big-endian POSIX seconds.
The signed message is not the note text alone but

    cosignature/v1
    time <timestamp>
    <the checkpoint's note text, every line, extensions included>

so the signature states *when* the witness saw this tree as the largest
consistent one, and cannot be replayed as an ordinary note signature.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vault.audit.note import (
    SIG_PREFIX,
    NoteError,
    NoteSignature,
    b64decode_strict,
    b64encode,
    check_key_name,
    split_note,
)

ALG_COSIGNATURE_V1 = 0x04
HEADER = b"cosignature/v1\n"
#: The spec caps the timestamp at 2^63 - 1.
MAX_TIMESTAMP = (1 << 63) - 1
SIGNATURE_SIZE = 4 + 8 + 64


def cosigner_key_id(name: str, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || 0x04 || public key)[:4]."""
    return hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([ALG_COSIGNATURE_V1]) + public_key
    ).digest()[:4]


def signed_message(body: bytes, timestamp: int) -> bytes:
    """What a cosigner signs for the checkpoint text *body* at *timestamp*."""
    if isinstance(timestamp, bool) or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise NoteError("cosignature: the timestamp is out of range")
    return HEADER + f"time {timestamp}\n".encode("ascii") + body


@dataclass(frozen=True)
class CosignerKey:
    """A witness's public key: its name, the 0x04 key ID and the Ed25519 key."""

    name: str
    key_id: bytes
    public_key: bytes

    def encode(self) -> str:
        """``name+keyid+base64(0x04 || key)``: the verifier key to hand out."""
        key = b64encode(bytes([ALG_COSIGNATURE_V1]) + self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{key}"

    def __str__(self) -> str:
        return self.encode()

    def verify(self, body: bytes, cosig: Cosignature) -> bool:
        if cosig.name != self.name or cosig.key_id != self.key_id:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(
                cosig.signature, signed_message(body, cosig.timestamp)
            )
        except (InvalidSignature, ValueError, NoteError):
            return False
        return True


def parse_cosigner_key(text: str) -> CosignerKey:
    """Parse a witness verifier key; its ID must match, its type must be 0x04."""
    if not isinstance(text, str):
        raise NoteError("witness key: expected text")
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise NoteError("witness key: expected <name>+<key ID>+<base64 key>")
    name, hex_id, b64 = parts
    check_key_name(name)
    raw = b64decode_strict(b64, "witness key")
    if len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
        raise NoteError("witness key: not an Ed25519 cosignature key (type 0x04, 32 bytes)")
    public = raw[1:]
    try:
        Ed25519PublicKey.from_public_bytes(public)
    except ValueError:
        raise NoteError(f"witness key {name}: not an Ed25519 public key") from None
    kid = cosigner_key_id(name, public)
    if kid.hex() != hex_id:
        raise NoteError(f"witness key {name}: the key ID does not match the key")
    return CosignerKey(name, kid, public)


@dataclass(frozen=True)
class Cosignature:
    """One parsed cosignature line (not yet verified)."""

    name: str
    key_id: bytes
    timestamp: int
    signature: bytes

    def line(self) -> str:
        raw = self.key_id + struct.pack(">Q", self.timestamp) + self.signature
        return f"{SIG_PREFIX}{self.name} {b64encode(raw)}\n"


def as_cosignature(sig: NoteSignature) -> Cosignature | None:
    """A note signature read as a cosignature, or None if it cannot be one."""
    if len(sig.signature) != SIGNATURE_SIZE - 4:
        return None
    (timestamp,) = struct.unpack(">Q", sig.signature[:8])
    if timestamp > MAX_TIMESTAMP:
        return None
    return Cosignature(sig.name, sig.key_id, timestamp, sig.signature[8:])


class Cosigner:
    """Cosigns checkpoints as *name* with an Ed25519 private key."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        check_key_name(name)
        self.name = name
        self._key = private_key
        public = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.key = CosignerKey(name, cosigner_key_id(name, public), public)

    def cosign(self, body: bytes, timestamp: int) -> Cosignature:
        """The cosignature of the checkpoint text *body* at *timestamp*."""
        sig = self._key.sign(signed_message(body, timestamp))
        return Cosignature(self.name, self.key.key_id, timestamp, sig)

    def __repr__(self) -> str:
        return f"Cosigner({self.key.encode()!r})"


def _keys(keys: Iterable[CosignerKey | str]) -> list[CosignerKey]:
    return [k if isinstance(k, CosignerKey) else parse_cosigner_key(k) for k in keys]


def verified_cosignatures(
    note: str | bytes, witness_keys: Sequence[CosignerKey | str]
) -> list[Cosignature]:
    """The cosignatures on *note* by the trusted *witness_keys*, each verified.

    Lines by other keys (the log's own signatures, unknown witnesses) are
    ignored; a line that carries a trusted witness's name and key ID but does
    not verify rejects the whole note, as the signed-note rules say.
    """
    keys = _keys(witness_keys)
    text, sigs = split_note(note)
    body = text.encode("utf-8")
    out: list[Cosignature] = []
    for sig in sigs:
        matches = [k for k in keys if k.name == sig.name and k.key_id == sig.key_id]
        if not matches:
            continue
        cosig = as_cosignature(sig)
        if cosig is None or not any(k.verify(body, cosig) for k in matches):
            raise NoteError(f"the cosignature by {sig.name} does not verify")
        out.append(cosig)
    return out
