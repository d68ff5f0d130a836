"""The X25519 recipient type: ``age1…`` recipients, ``AGE-SECRET-KEY-1…`` identities.

    -> X25519 <base64 ephemeral share>
    <base64 ChaCha20-Poly1305(wrap key, file key)>

wrap key = HKDF-SHA-256(X25519(ephemeral, recipient), salt = share ‖ recipient,
info = "age-encryption.org/v1/X25519"). Binding both public values into the
salt ties the wrap key to this exact stanza and recipient.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from vault.crypto import bech32
from vault.crypto.format import Stanza
from vault.crypto.primitives import (
    WRAPPED_KEY_SIZE,
    aead_unwrap,
    aead_wrap,
    b64decode_raw,
    b64encode_raw,
    hkdf_sha256,
)
from vault.errors import AgeError, HeaderError, KeyFormatError

STANZA_TYPE = "X25519"
LABEL = b"age-encryption.org/v1/X25519"
RECIPIENT_HRP = "age"
IDENTITY_HRP = "AGE-SECRET-KEY-"
KEY_SIZE = 32


def _exchange(private: X25519PrivateKey, public: bytes) -> bytes | None:
    """X25519, or None when the result is all zeros (a low-order point).

    OpenSSL refuses to return the all-zero shared secret; the spec requires
    aborting on it, since it would make the wrap key public.
    """
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(public))
    except ValueError:
        return None
    return None if shared == bytes(KEY_SIZE) else shared


class X25519Recipient:
    """An ``age1…`` public key. Equal and hashable by its key bytes."""

    __slots__ = ("_public",)

    def __init__(self, public_key: bytes) -> None:
        if not isinstance(public_key, bytes) or len(public_key) != KEY_SIZE:
            raise KeyFormatError("X25519 recipient: the public key must be 32 bytes")
        self._public = public_key

    @classmethod
    def parse(cls, text: str) -> X25519Recipient:
        hrp, data = bech32.decode(text)
        if hrp != RECIPIENT_HRP:
            raise KeyFormatError("X25519 recipient: expected a lowercase 'age1…' string")
        if len(data) != KEY_SIZE:
            raise KeyFormatError("X25519 recipient: the key must decode to 32 bytes")
        return cls(data)

    @property
    def public_bytes(self) -> bytes:
        return self._public

    def wrap(self, file_key: bytes) -> list[Stanza]:
        ephemeral = X25519PrivateKey.generate()
        share = ephemeral.public_key().public_bytes_raw()
        shared = _exchange(ephemeral, self._public)
        if shared is None:
            raise AgeError("X25519 recipient: the public key is a low-order point")
        key = hkdf_sha256(shared, share + self._public, LABEL)
        body = aead_wrap(key, file_key)
        return [Stanza(STANZA_TYPE, (b64encode_raw(share).decode("ascii"),), body)]

    def __str__(self) -> str:
        return bech32.encode(RECIPIENT_HRP, self._public)

    def __repr__(self) -> str:
        return f"X25519Recipient({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, X25519Recipient):
            return NotImplemented
        return self._public == other._public

    def __hash__(self) -> int:
        return hash((X25519Recipient, self._public))


class X25519Identity:
    """An ``AGE-SECRET-KEY-1…`` secret key. Its repr never shows the secret."""

    __slots__ = ("_private", "_recipient", "_secret")

    def __init__(self, secret_key: bytes) -> None:
        if not isinstance(secret_key, bytes) or len(secret_key) != KEY_SIZE:
            raise KeyFormatError("X25519 identity: the secret key must be 32 bytes")
        self._secret = secret_key
        self._private = X25519PrivateKey.from_private_bytes(secret_key)
        self._recipient = X25519Recipient(self._private.public_key().public_bytes_raw())

    @classmethod
    def generate(cls) -> X25519Identity:
        return cls(X25519PrivateKey.generate().private_bytes_raw())

    @classmethod
    def parse(cls, text: str) -> X25519Identity:
        hrp, data = bech32.decode(text)
        if hrp != IDENTITY_HRP:
            raise KeyFormatError("X25519 identity: expected an uppercase 'AGE-SECRET-KEY-1…'")
        if len(data) != KEY_SIZE:
            raise KeyFormatError("X25519 identity: the key must decode to 32 bytes")
        return cls(data)

    @property
    def recipient(self) -> X25519Recipient:
        return self._recipient

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        """The file key from the first stanza addressed to us, else None.

        Every X25519 stanza is checked for well-formedness first, so a
        malformed one is a HeaderError whatever its position.
        """
        ours = [s for s in stanzas if s.type == STANZA_TYPE]
        shares = [_check_stanza(s) for s in ours]
        own = self._recipient.public_bytes
        for share, stanza in zip(shares, ours, strict=True):
            shared = _exchange(self._private, share)
            if shared is None:
                raise HeaderError("X25519 stanza: the ephemeral share is a low-order point")
            key = hkdf_sha256(shared, share + own, LABEL)
            file_key = aead_unwrap(key, stanza.body)
            if file_key is not None:
                return file_key
        return None

    def __str__(self) -> str:
        return bech32.encode(IDENTITY_HRP, self._secret)

    def __repr__(self) -> str:
        return f"X25519Identity(recipient={str(self._recipient)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, X25519Identity):
            return NotImplemented
        return self._secret == other._secret

    def __hash__(self) -> int:
        return hash((X25519Identity, self._recipient.public_bytes))


def _check_stanza(stanza: Stanza) -> bytes:
    """The ephemeral share of a well-formed X25519 stanza; HeaderError otherwise."""
    if len(stanza.args) != 1:
        raise HeaderError("X25519 stanza: expected exactly one argument (the ephemeral share)")
    share = b64decode_raw(stanza.args[0], "X25519 stanza share")
    if len(share) != KEY_SIZE:
        raise HeaderError("X25519 stanza: the ephemeral share must be 32 bytes")
    # Checked before any decryption, against partitioning oracle attacks.
    if len(stanza.body) != WRAPPED_KEY_SIZE:
        raise HeaderError(f"X25519 stanza: the body must be {WRAPPED_KEY_SIZE} bytes")
    return share
