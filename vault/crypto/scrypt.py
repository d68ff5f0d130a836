"""The scrypt (passphrase) recipient type.

    -> scrypt <base64 16-byte salt> <log2 N, decimal, no leading zero>
    <base64 ChaCha20-Poly1305(wrap key, file key)>

wrap key = scrypt(N = 2**log_n, r = 8, p = 1, dkLen = 32,
S = "age-encryption.org/v1/scrypt" ‖ salt, P = passphrase).

Two rules protect the person typing the passphrase. The work factor comes from
the file, so an identity refuses one above its limit *before* running scrypt
(otherwise a crafted file is a denial of service: log_n 30 wants 128 GiB). And
an scrypt stanza must be the only stanza: with a passphrase, decrypting
successfully implies that whoever made the file knew the passphrase; a second
stanza would let someone else produce a file that also opens with it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from vault.crypto.format import Stanza
from vault.crypto.primitives import (
    WRAPPED_KEY_SIZE,
    aead_unwrap,
    aead_wrap,
    b64decode_raw,
    b64encode_raw,
)
from vault.errors import AgeError, HeaderError

STANZA_TYPE = "scrypt"
LABEL = b"age-encryption.org/v1/scrypt"
SALT_SIZE = 16
R = 8
P = 1
DEFAULT_LOG_N = 18
"""age's default: about a second on a laptop."""
DEFAULT_MAX_LOG_N = 22
"""age's default ceiling when decrypting: 4 GiB of scrypt memory at most."""
_MAX_SANE_LOG_N = 40


def scrypt_memory(log_n: int) -> int:
    """Bytes of memory scrypt needs for this work factor: 128 · r · N (RFC 7914).

    ``cryptography``'s Scrypt sizes its own memory limit from n and r (unlike
    ``hashlib.scrypt``, whose 32 MiB default maxmem would refuse log_n 18), so
    this is for documentation and for callers budgeting memory.
    """
    return 128 * R * (1 << log_n)


def _to_bytes(passphrase: str | bytes) -> bytes:
    if isinstance(passphrase, str):
        return passphrase.encode("utf-8")
    if isinstance(passphrase, bytes | bytearray):
        return bytes(passphrase)
    raise TypeError("a passphrase is str or bytes")


def _wrap_key(passphrase: bytes, salt: bytes, log_n: int) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt  # only passphrase files need it

    kdf = Scrypt(salt=LABEL + salt, length=32, n=1 << log_n, r=R, p=P)
    return kdf.derive(passphrase)


class ScryptRecipient:
    """Encrypts the file key to a passphrase. It must be a file's only recipient."""

    __slots__ = ("_log_n", "_passphrase")

    def __init__(self, passphrase: str | bytes, log_n: int = DEFAULT_LOG_N) -> None:
        if isinstance(log_n, bool) or not isinstance(log_n, int):
            raise TypeError("log_n must be an int")
        if not 1 <= log_n <= _MAX_SANE_LOG_N:
            raise AgeError(f"scrypt recipient: log_n must be between 1 and {_MAX_SANE_LOG_N}")
        self._passphrase = _to_bytes(passphrase)
        if not self._passphrase:
            raise AgeError("scrypt recipient: the passphrase is empty")
        self._log_n = log_n

    @property
    def log_n(self) -> int:
        return self._log_n

    def wrap(self, file_key: bytes) -> list[Stanza]:
        salt = os.urandom(SALT_SIZE)
        key = _wrap_key(self._passphrase, salt, self._log_n)
        args = (b64encode_raw(salt).decode("ascii"), str(self._log_n))
        return [Stanza(STANZA_TYPE, args, aead_wrap(key, file_key))]

    def __repr__(self) -> str:
        return f"ScryptRecipient(log_n={self._log_n})"


class ScryptIdentity:
    """Opens files sealed to a passphrase, refusing work factors above *max_log_n*."""

    __slots__ = ("_max_log_n", "_passphrase")

    def __init__(self, passphrase: str | bytes, max_log_n: int = DEFAULT_MAX_LOG_N) -> None:
        if isinstance(max_log_n, bool) or not isinstance(max_log_n, int) or max_log_n < 1:
            raise TypeError("max_log_n must be a positive int")
        self._passphrase = _to_bytes(passphrase)
        self._max_log_n = max_log_n

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        ours = [s for s in stanzas if s.type == STANZA_TYPE]
        if not ours:
            return None
        if len(stanzas) != 1:
            raise HeaderError("scrypt stanza: it must be the only stanza in the header")
        stanza = ours[0]
        salt, log_n = _check_stanza(stanza, self._max_log_n)
        key = _wrap_key(self._passphrase, salt, log_n)
        return aead_unwrap(key, stanza.body)

    def __repr__(self) -> str:
        return f"ScryptIdentity(max_log_n={self._max_log_n})"


def _check_stanza(stanza: Stanza, max_log_n: int) -> tuple[bytes, int]:
    """(salt, log_n) of a well-formed scrypt stanza within the work limit."""
    if len(stanza.args) != 2:
        raise HeaderError("scrypt stanza: expected exactly two arguments (salt, log2 N)")
    salt = b64decode_raw(stanza.args[0], "scrypt stanza salt")
    if len(salt) != SALT_SIZE:
        raise HeaderError(f"scrypt stanza: the salt must be {SALT_SIZE} bytes")
    text = stanza.args[1]
    if not text or text[0] not in "123456789" or any(c not in "0123456789" for c in text):
        raise HeaderError("scrypt stanza: log2 N must be a decimal number without leading zeros")
    # Compare lengths first so a huge digit string is never converted.
    if len(text) > len(str(max_log_n)) or int(text) > max_log_n:
        raise HeaderError(f"scrypt stanza: work factor log2 N above the limit of {max_log_n}")
    if len(stanza.body) != WRAPPED_KEY_SIZE:
        raise HeaderError(f"scrypt stanza: the body must be {WRAPPED_KEY_SIZE} bytes")
    return salt, int(text)
