"""The small cryptographic helpers every age layer shares.

HKDF-SHA-256 and HMAC-SHA-256 as the spec uses them, ChaCha20-Poly1305 with
the all-zero nonce for wrapping a file key (safe because every wrap key is
used exactly once), and the strict unpadded base64 of the header.

Base64 strictness matters for security, not tidiness: age files must not be
malleable, and a decoder that accepted two spellings of the same bytes (stray
trailing bits, ``=`` padding, line breaks) would let an attacker change the
header text without changing its meaning.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac as _hmac

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vault.errors import HeaderError

FILE_KEY_SIZE = 16
"""A file key is 128 bits of CSPRNG output (spec: "File key")."""

WRAPPED_KEY_SIZE = FILE_KEY_SIZE + 16
"""A wrapped file key: the 16-byte key plus the 16-byte Poly1305 tag."""

_ZERO_NONCE = bytes(12)
_B64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    """HKDF-Extract(salt, ikm) then HKDF-Expand(info), RFC 5869, SHA-256."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    return _hmac.new(key, data, hashlib.sha256).digest()


def constant_time_equal(a: bytes, b: bytes) -> bool:
    return _hmac.compare_digest(a, b)


def aead_wrap(key: bytes, file_key: bytes) -> bytes:
    """Encrypt *file_key* under a single-use *key* with the all-zero nonce."""
    return ChaCha20Poly1305(key).encrypt(_ZERO_NONCE, file_key, None)


def aead_unwrap(key: bytes, body: bytes) -> bytes | None:
    """Open a wrapped file key; None when the tag does not verify.

    The caller must already have checked ``len(body) == WRAPPED_KEY_SIZE``:
    the spec asks for that check *before* decrypting, so that a crafted body
    cannot probe several keys at once (partitioning oracle attacks).
    """
    try:
        return ChaCha20Poly1305(key).decrypt(_ZERO_NONCE, body, None)
    except InvalidTag:
        return None


def b64encode_raw(data: bytes) -> bytes:
    """Canonical standard base64 without ``=`` padding (RFC 4648 §4, §3.5)."""
    return base64.b64encode(data).rstrip(b"=")


def b64decode_raw(text: bytes | str, what: str) -> bytes:
    """Decode unpadded base64, rejecting every non-canonical spelling.

    Raises HeaderError naming *what* was being decoded and the rule broken:
    characters outside the alphabet (padding, whitespace, CR), an impossible
    length, or non-zero unused trailing bits.
    """
    if isinstance(text, str):
        try:
            raw = text.encode("ascii")
        except UnicodeEncodeError:
            raise HeaderError(f"{what}: base64 contains a non-ASCII character") from None
    else:
        raw = bytes(text)
    if b"=" in raw:
        raise HeaderError(f"{what}: base64 must not be padded with '='")
    if not _B64_ALPHABET.issuperset(raw):
        raise HeaderError(f"{what}: base64 contains a character outside the alphabet")
    if len(raw) % 4 == 1:
        raise HeaderError(f"{what}: base64 has an impossible length")
    try:
        data = base64.b64decode(raw + b"=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise HeaderError(f"{what}: base64 does not decode") from None
    # Unused low bits of the last character must be zero (RFC 4648 §3.5):
    # re-encoding gives back the input only for the canonical spelling.
    if b64encode_raw(data) != raw:
        raise HeaderError(f"{what}: base64 is not canonical (non-zero trailing bits)")
    return data
