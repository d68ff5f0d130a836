"""The high-level age API: keys, whole-file encrypt/decrypt, split headers, rewrap.

A sealed clip is ``header ‖ payload``. The header wraps a fresh 16-byte file
key once per recipient and ends with an HMAC over itself keyed from that file
key; the payload is the STREAM of 64 KiB chunks (see :mod:`vault.crypto.stream`).
Because the two parts are independent apart from the file key, the vault can
keep headers apart from payloads (crypto-shredding) and re-address a clip by
writing a new header for the same file key (:func:`rewrap`) without touching
its payload.

Errors: every failure caused by the input bytes is an AgeError subclass
(HeaderError, MACError, PayloadError, NoMatchingIdentity, ArmorError,
KeyFormatError) whose message names the rule that failed and never contains
key material or plaintext.
"""

from __future__ import annotations

import binascii
import io
import os
import struct
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import BinaryIO, TypeAlias, cast

from cryptography.exceptions import InvalidTag

from vault.crypto import armor as _armor
from vault.crypto import stream as _stream
from vault.crypto.format import Header, Stanza, encode_header, parse_header, read_header_from
from vault.crypto.primitives import FILE_KEY_SIZE, constant_time_equal, hkdf_sha256, hmac_sha256
from vault.crypto.scrypt import STANZA_TYPE as SCRYPT_TYPE
from vault.crypto.scrypt import ScryptIdentity, ScryptRecipient
from vault.crypto.stream import decrypt_payload as _decrypt_payload
from vault.crypto.x25519 import X25519Identity, X25519Recipient
from vault.errors import (
    AgeError,
    ArmorError,
    HeaderError,
    KeyFormatError,
    MACError,
    NoMatchingIdentity,
    PayloadError,
)

__all__ = [
    "AgeError",
    "ArmorError",
    "HeaderError",
    "Identity",
    "KeyFormatError",
    "MACError",
    "NoMatchingIdentity",
    "PayloadError",
    "Recipient",
    "ScryptIdentity",
    "Sealer",
    "ScryptRecipient",
    "X25519Identity",
    "X25519Recipient",
    "decrypt",
    "decrypt_bytes",
    "decrypt_payload",
    "encrypt",
    "encrypt_bytes",
    "encrypt_split",
    "encrypt_writer",
    "generate_identity",
    "parse_identities_file",
    "parse_identity",
    "parse_recipient",
    "read_header",
    "rewrap",
    "seal_writer",
    "unwrap_file_key",
]

Recipient: TypeAlias = X25519Recipient | ScryptRecipient
Identity: TypeAlias = X25519Identity | ScryptIdentity

_HEADER_INFO = b"header"
_BINARY_INTRO = b"age-encryption.org/"
_ARMOR_INTRO = b"-----BEGIN"
_SNIFF = 64
_WHITESPACE = b" \t\r\n\v\f"

# Exceptions that malformed input could provoke from the standard library or
# from cryptography if a check were ever missed; they are mapped to AgeError so
# callers need to handle a single hierarchy.
_STRAY = (ValueError, InvalidTag, struct.error, IndexError, KeyError, OverflowError, binascii.Error)


class _only_age_errors:  # noqa: N801 - used like a function: `with _only_age_errors(...)`
    """Turn a stray exception from malformed input into *kind* (an AgeError)."""

    __slots__ = ("_kind", "_what")

    def __init__(self, kind: type[AgeError], what: str) -> None:
        self._kind, self._what = kind, what

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, etype: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None and not isinstance(exc, AgeError) and isinstance(exc, _STRAY):
            raise self._kind(f"{self._what}: malformed input ({type(exc).__name__})") from None


# -- keys ----------------------------------------------------------------------


def generate_identity() -> X25519Identity:
    """A new random X25519 identity."""
    return X25519Identity.generate()


def _check_key_text(s: object, kind: str) -> str:
    if not isinstance(s, str):
        raise KeyFormatError(f"{kind}: a key must be a str")
    if not s.isascii():
        raise KeyFormatError(f"{kind}: a key contains a non-ASCII character")
    return s


def parse_identity(s: str) -> X25519Identity:
    """Parse ``AGE-SECRET-KEY-1…`` (uppercase, as age writes it); KeyFormatError if bad."""
    text = _check_key_text(s, "identity")
    with _only_age_errors(KeyFormatError, "identity"):
        return X25519Identity.parse(text)


def parse_recipient(s: str) -> X25519Recipient:
    """Parse ``age1…`` (lowercase); KeyFormatError if bad."""
    text = _check_key_text(s, "recipient")
    with _only_age_errors(KeyFormatError, "recipient"):
        return X25519Recipient.parse(text)


def parse_identities_file(text: str) -> list[X25519Identity]:
    """Parse an age identity file: one key a line, ``#`` comments and blank lines ignored.

    Like age, a trailing CR on a line is dropped and other whitespace is not.
    The error names the line number, never its content (it may be a secret).
    """
    if not isinstance(text, str):
        raise KeyFormatError("identity file: expected text")
    identities = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line or line.startswith("#"):
            continue
        try:
            identities.append(parse_identity(line))
        except KeyFormatError as exc:
            raise KeyFormatError(f"identity file, line {number}: {exc.message}") from None
    if not identities:
        raise KeyFormatError("identity file: no identities found")
    return identities


def _recipients(recipients: Iterable[Recipient | str]) -> list[Recipient]:
    out: list[Recipient] = []
    for r in recipients:
        if isinstance(r, str):
            out.append(parse_recipient(r))
        elif isinstance(r, X25519Recipient | ScryptRecipient):
            out.append(r)
        else:
            raise TypeError(f"not an age recipient: {type(r).__name__}")
    if not out:
        raise AgeError("no recipients given")
    if len(out) > 1 and any(isinstance(r, ScryptRecipient) for r in out):
        # A passphrase file must have a single stanza (spec: scrypt recipient
        # type), or anyone else it was sealed to could forge files that open
        # with the passphrase.
        raise AgeError("a passphrase (scrypt) recipient must be the only recipient")
    return out


def _identities(
    identities: Identity | str | Iterable[Identity | str],
    passphrases: Iterable[str | bytes] = (),
) -> list[Identity]:
    if isinstance(identities, str | X25519Identity | ScryptIdentity):
        identities = [identities]
    out: list[Identity] = []
    for i in identities:
        if isinstance(i, str):
            out.append(parse_identity(i))
        elif isinstance(i, X25519Identity | ScryptIdentity):
            out.append(i)
        else:
            raise TypeError(f"not an age identity: {type(i).__name__}")
    if isinstance(passphrases, str | bytes):
        passphrases = [passphrases]
    out.extend(ScryptIdentity(p) for p in passphrases)
    return out


# -- headers -------------------------------------------------------------------


def _mac(file_key: bytes, mac_input: bytes) -> bytes:
    return hmac_sha256(hkdf_sha256(file_key, b"", _HEADER_INFO), mac_input)


def _seal_header(file_key: bytes, recipients: list[Recipient]) -> bytes:
    stanzas: list[Stanza] = []
    for r in recipients:
        stanzas.extend(r.wrap(file_key))
    header = Header(tuple(stanzas), b"\x00" * 32)
    return encode_header(header.stanzas, _mac(file_key, header.mac_input()))


def _open_header(header: Header, identities: list[Identity]) -> bytes:
    """Unwrap the file key with the first identity that can, then check the MAC."""
    with _only_age_errors(HeaderError, "header"):
        if any(s.type == SCRYPT_TYPE for s in header.stanzas) and len(header.stanzas) != 1:
            raise HeaderError("scrypt stanza: it must be the only stanza in the header")
        file_key = None
        for identity in identities:
            file_key = identity.unwrap(header.stanzas)
            if file_key is not None:
                break
    if file_key is None:
        if not identities:
            raise NoMatchingIdentity("no identities or passphrases were given")
        raise NoMatchingIdentity("no identity or passphrase matches any recipient stanza")
    if len(file_key) != FILE_KEY_SIZE:
        raise HeaderError("the unwrapped file key is not 16 bytes")
    if not constant_time_equal(_mac(file_key, header.mac_input()), header.mac):
        raise MACError("header MAC does not verify: the header was altered")
    return file_key


def read_header(src: BinaryIO) -> bytes:
    """Read exactly the header bytes of a binary age file from *src*.

    *src* is left at the first payload byte. HeaderError if malformed.
    """
    with _only_age_errors(HeaderError, "header"):
        _, raw = read_header_from(src.readline)
    return raw


def unwrap_file_key(
    header: bytes,
    identities: Identity | str | Iterable[Identity | str] = (),
    passphrases: Iterable[str | bytes] = (),
) -> bytes:
    """The 16-byte file key of *header* (exactly one header), after checking its MAC."""
    ids = _identities(identities, passphrases)
    with _only_age_errors(HeaderError, "header"):
        if not isinstance(header, bytes | bytearray | memoryview):
            raise TypeError("header must be bytes")
        parsed = parse_header(bytes(header))
    return _open_header(parsed, ids)


def rewrap(
    header: bytes,
    identity: Identity | str | Iterable[Identity | str],
    recipients: Iterable[Recipient | str],
) -> bytes:
    """A new header for the same file key, addressed to *recipients*.

    The old payload is untouched: new header ‖ old payload is a valid age file
    for the new recipients. The old header stays valid for its recipients;
    shredding it is the caller's job.
    """
    file_key = unwrap_file_key(header, identity)
    return _seal_header(file_key, _recipients(recipients))


# -- whole files -----------------------------------------------------------------


class Sealer:
    """Push-mode sealing: the header is known at once, plaintext is written as it arrives.

    ``header`` holds the header bytes from the start; the payload goes to
    *payload_dst* one block at a time (see :class:`vault.crypto.stream.PayloadWriter`).
    ``header + payload`` is a valid age file once ``close()`` returned, and
    never before: until then the payload ends on a chunk sealed as not final,
    so a stream cut short by ``abort()`` or an exception does not open as a
    whole file. Use as a context manager: an exception inside aborts it.
    """

    __slots__ = ("_after", "_writer", "header")

    def __init__(
        self,
        payload_dst: _stream.Sink,
        recipients: Iterable[Recipient | str],
        *,
        after: Callable[[], None] | None = None,
    ) -> None:
        rs = _recipients(recipients)
        file_key = os.urandom(FILE_KEY_SIZE)
        self.header: bytes = _seal_header(file_key, rs)
        self._writer = _stream.PayloadWriter(file_key, payload_dst)
        self._after = after

    @property
    def closed(self) -> bool:
        return self._writer.closed

    def write(self, data: bytes | bytearray | memoryview) -> int:
        return self._writer.write(data)

    def write_from(self, src: BinaryIO) -> int:
        """Write all of *src* (read to its end); the number of bytes read."""
        return self._writer.write_from(src)

    def close(self) -> None:
        """Seal the final chunk. AgeError if already closed or aborted."""
        self._writer.close()
        if self._after is not None:
            self._after()

    def abort(self) -> None:
        self._writer.abort()

    def __enter__(self) -> Sealer:
        return self

    def __exit__(self, etype: type[BaseException] | None, *rest: object) -> None:
        if etype is not None:
            self.abort()
        elif not self.closed:
            self.close()


def seal_writer(payload_dst: _stream.Sink, recipients: Iterable[Recipient | str]) -> Sealer:
    """A push-mode :func:`encrypt_split`: write to it, close it, take ``.header``."""
    return Sealer(payload_dst, recipients)


def encrypt_writer(
    dst: BinaryIO, recipients: Iterable[Recipient | str], *, armor: bool = False
) -> Sealer:
    """A push-mode :func:`encrypt`: the header is written to *dst* now, the payload as it comes."""
    if not armor:
        sealer = Sealer(dst, recipients)
        dst.write(sealer.header)
        return sealer
    rs = _recipients(recipients)  # checked before the armor's BEGIN line is written
    writer = _armor.ArmorWriter(dst)
    sealer = Sealer(writer, rs, after=writer.close)
    writer.write(sealer.header)
    return sealer


def _pump(src: BinaryIO, sealer: Sealer) -> None:
    with sealer:
        sealer.write_from(src)


def encrypt(
    src: BinaryIO,
    dst: BinaryIO,
    recipients: Iterable[Recipient | str],
    *,
    armor: bool = False,
) -> None:
    """Encrypt all of *src* to *dst* for *recipients*, in constant memory."""
    _pump(src, encrypt_writer(dst, recipients, armor=armor))


def encrypt_split(
    src: BinaryIO, payload_dst: BinaryIO, recipients: Iterable[Recipient | str]
) -> bytes:
    """Write only the payload to *payload_dst*; return the header bytes.

    ``header + payload`` is a valid binary age file.
    """
    sealer = seal_writer(payload_dst, recipients)
    _pump(src, sealer)
    return sealer.header


class _Prefixed(io.RawIOBase):
    """*prefix* then the rest of *src*: lets us sniff for armor on any stream."""

    def __init__(self, prefix: bytes, src: BinaryIO) -> None:
        super().__init__()
        self._prefix = memoryview(prefix)
        self._src = src
        self._readinto: Callable[[memoryview], int | None] | None = getattr(src, "readinto", None)

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview | bytearray) -> int:  # type: ignore[override]
        view = memoryview(b).cast("B")
        if self._prefix:
            n = min(len(view), len(self._prefix))
            view[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        if self._readinto is not None:
            got = self._readinto(view)
            return got or 0
        data = self._src.read(len(view))
        view[: len(data)] = data
        return len(data)


def _sniff(src: BinaryIO) -> tuple[BinaryIO, bool]:
    """A buffered stream over *src* and whether it is armored."""
    prefix = b""
    while len(prefix) < _SNIFF:
        more = src.read(_SNIFF - len(prefix))
        if not more:
            break
        prefix += more
    stripped = prefix.lstrip(_WHITESPACE)
    armored = not prefix.startswith(_BINARY_INTRO) and (
        stripped.startswith(_ARMOR_INTRO) or (bool(prefix) and not stripped)
    )
    stream = io.BufferedReader(_Prefixed(prefix, src), buffer_size=64 * 1024)
    if armored:
        return cast(BinaryIO, _armor.dearmor(stream)), True
    return cast(BinaryIO, stream), False


def decrypt(
    src: BinaryIO,
    dst: BinaryIO,
    identities: Iterable[Identity | str] = (),
    passphrases: Iterable[str | bytes] = (),
) -> None:
    """Decrypt *src* (binary or armored, detected) to *dst*, in constant memory.

    Plaintext is written one verified chunk at a time; if a later chunk is
    damaged or the file is truncated or extended, PayloadError (naming the
    chunk) is raised after every authentic chunk was written, exactly as age
    releases them (see :mod:`vault.crypto.stream`). Write to a temporary place
    and discard it on error when all-or-nothing matters.
    """
    ids = _identities(identities, passphrases)
    stream, armored = _sniff(src)
    kind: type[AgeError] = ArmorError if armored else HeaderError
    with _only_age_errors(kind, "header"):
        header, _ = read_header_from(stream.readline)
    file_key = _open_header(header, ids)
    _decrypt_payload(file_key, stream, dst)


def decrypt_payload(file_key: bytes, payload_src: BinaryIO, dst: BinaryIO) -> None:
    """Decrypt a bare payload (nonce and chunks) with a known file key."""
    if not isinstance(file_key, bytes) or len(file_key) != FILE_KEY_SIZE:
        raise AgeError("the file key must be 16 bytes")
    _decrypt_payload(file_key, payload_src, dst)


def encrypt_bytes(
    data: bytes, recipients: Iterable[Recipient | str], *, armor: bool = False
) -> bytes:
    out = io.BytesIO()
    encrypt(io.BytesIO(data), out, recipients, armor=armor)
    return out.getvalue()


def decrypt_bytes(
    data: bytes,
    identities: Iterable[Identity | str] = (),
    passphrases: Iterable[str | bytes] = (),
) -> bytes:
    out = io.BytesIO()
    decrypt(io.BytesIO(data), out, identities, passphrases)
    return out.getvalue()
