"""The age payload: a 16-byte nonce, then STREAM-encrypted 64 KiB chunks.

payload key = HKDF-SHA-256(file key, salt = nonce, info = "payload"); chunk i
is ChaCha20-Poly1305 under the 12-byte nonce ``i (11 bytes, big endian) ‖
last``, where *last* is 0x01 only for the final chunk. The flag is what makes
truncation detectable: a file cut at a chunk boundary ends on a chunk that was
sealed as "not last", which then fails to open as the final one.

Both directions run in constant memory, a few blocks of 16 chunks reused for
the whole stream; ``cryptography``'s ``*_into`` methods write straight into
them. Encryption is push-mode (:class:`PayloadWriter`: bytes are written as
they arrive, e.g. from a network upload) and the pull-mode
:func:`encrypt_payload` is a loop over it, so the chunking lives in one place.

Decryption releases exactly what age releases: every chunk whose tag
verifies is written to the destination before the error about a later chunk
is raised, and the error names the chunk (``chunk N``). A full-size chunk that
authenticates with the other last-chunk flag is authentic plaintext too: at
the end of the file (the file was cut at a chunk boundary) and before more
data (a final chunk followed by trailing bytes) it is released, then
PayloadError says what is wrong. A short chunk can only be the final one, so
it is released only if it opens as final. The age test-vector suite checks
this (every byte released before the error must match its payload hash), and
tests/crypto/testkit/ holds those vectors.

A payload nonce that is missing or shorter than 16 bytes is a HeaderError,
as the suite classes it: the header is followed by nothing usable, and no
chunk can be read.

Callers that need all-or-nothing (the export, the preview) write to a
staging place and discard it on error.
"""

from __future__ import annotations

import os
from typing import BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from vault.crypto.primitives import hkdf_sha256
from vault.errors import AgeError, HeaderError, PayloadError

NONCE_SIZE = 16
CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
ENC_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE
_MAX_COUNTER = 1 << 88
_LAST = b"\x01"
_NOT_LAST = b"\x00"


def payload_key(file_key: bytes, nonce: bytes) -> bytes:
    return hkdf_sha256(file_key, nonce, b"payload")


def _chunk_nonce(counter: int, last: bool) -> bytes:
    if counter >= _MAX_COUNTER:
        raise PayloadError("payload: the chunk counter would overflow")
    return counter.to_bytes(11, "big") + (_LAST if last else _NOT_LAST)


def _read_full(src: BinaryIO, view: memoryview) -> int:
    """Fill *view* from *src*; fewer bytes only at end of file."""
    filled = 0
    size = len(view)
    readinto = getattr(src, "readinto", None)
    while filled < size:
        if readinto is not None:
            n = readinto(view[filled:])
        else:
            data = src.read(size - filled)
            n = len(data) if data is not None else None
            if n:
                view[filled : filled + n] = data
        if n is None:
            raise AgeError("the source is non-blocking and has no data ready")
        if n == 0:
            break
        filled += n
    return filled


_BLOCK_CHUNKS = 16
"""Chunks moved per read/write call: 1 MiB of plaintext, to keep syscalls and
interpreter overhead per byte low. Memory stays constant (about 3 MiB)."""


class Sink(Protocol):
    """Where a payload goes: anything with a binary ``write``."""

    def write(self, data: memoryview, /) -> object: ...


class PayloadWriter:
    """Push-mode STREAM encryption: ``write()`` plaintext as it arrives, then ``close()``.

    The final chunk carries the last-chunk flag, so a chunk can be sealed only
    once it is known whether another byte follows. The writer holds one block
    (16 chunks) of plaintext; a full block is sealed "not last" when the next
    byte arrives, and whatever it holds at ``close()`` is sealed with the flag
    on its final chunk. Memory is constant whatever is written.

    Nothing is written to *dst* before the first chunk is sealed (so a caller
    can write a header first); then the nonce, then only chunks sealed as "not
    last". Until ``close()`` succeeds the output therefore never decrypts as a
    whole file: a stream that fails or is ``abort()``-ed midway reads as
    truncated. After a failed write to *dst*, an ``abort()`` or a ``close()``,
    any further ``write`` or ``close`` raises AgeError.
    """

    __slots__ = ("_aead", "_counter", "_dst", "_filled", "_nonce", "_out", "_pending", "_state")

    def __init__(self, file_key: bytes, dst: Sink) -> None:
        nonce = os.urandom(NONCE_SIZE)
        self._aead = ChaCha20Poly1305(payload_key(file_key, nonce))
        self._dst = dst
        self._pending = memoryview(bytearray(_BLOCK_CHUNKS * CHUNK_SIZE))
        self._out = memoryview(bytearray(_BLOCK_CHUNKS * ENC_CHUNK_SIZE))
        self._nonce: bytes | None = nonce  # written with the first chunk
        self._filled = 0
        self._counter = 0
        self._state = "open"

    @property
    def closed(self) -> bool:
        return self._state != "open"

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Take *data* (any length); seal every block that is known not to be the last."""
        self._check_open("write to")
        view = memoryview(data).cast("B")
        size = len(view)
        block = len(self._pending)
        while view:
            if self._filled == block:  # more bytes follow a full block
                self._seal(self._pending, final=False)
                self._filled = 0
            if self._filled == 0 and len(view) > block:
                # Whole blocks that are surely not last go straight from *data*.
                self._seal(view[:block], final=False)
                view = view[block:]
                continue
            n = min(block - self._filled, len(view))
            self._pending[self._filled : self._filled + n] = view[:n]
            self._filled += n
            view = view[n:]
        return size

    def write_from(self, src: BinaryIO) -> int:
        """Read *src* to its end straight into the writer's block; the number of bytes read.

        Pull mode without an extra copy: a spare block takes the read-ahead
        that tells whether a full block is the last one.
        """
        self._check_open("write to")
        block = len(self._pending)
        spare = memoryview(bytearray(block))
        total = 0
        try:
            while True:
                n = _read_full(src, self._pending[self._filled :])
                self._filled += n
                total += n
                if self._filled < block:  # the end of *src*
                    return total
                m = _read_full(src, spare)
                if m == 0:
                    return total
                self._seal(self._pending, final=False)
                self._pending, spare = spare, self._pending
                self._filled = m
                total += m
        finally:
            spare[:] = bytes(block)

    def close(self) -> None:
        """Seal what is held, its final chunk flagged last; the payload is then complete."""
        self._check_open("close")
        # An empty plaintext is one empty final chunk; otherwise what is held
        # is never empty (a full block is sealed only once a byte follows it).
        self._seal(self._pending[: self._filled], final=True)
        self._state = "closed"

    def abort(self) -> None:
        """Stop without sealing a final chunk: what was written reads as truncated."""
        if self._state == "open":
            self._state = "aborted"
        self._pending[:] = bytes(len(self._pending))  # drop the plaintext held

    def __enter__(self) -> PayloadWriter:
        return self

    def __exit__(self, etype: type[BaseException] | None, *rest: object) -> None:
        if etype is not None:
            self.abort()
        elif self._state == "open":
            self.close()

    def _check_open(self, what: str) -> None:
        if self._state != "open":
            reason = {
                "closed": "it was closed",
                "aborted": "it was aborted",
                "failed": "an earlier write failed",
            }[self._state]
            raise AgeError(f"payload writer: cannot {what} it, {reason}")

    def _seal(self, plain: memoryview, *, final: bool) -> None:
        if self._nonce is not None:
            self._emit(memoryview(self._nonce))
            self._nonce = None
        n = len(plain)
        count = max(1, -(-n // CHUNK_SIZE))
        written = 0
        for i in range(count):
            lo = i * CHUNK_SIZE
            hi = min(lo + CHUNK_SIZE, n)
            size = hi - lo + TAG_SIZE
            nonce = _chunk_nonce(self._counter, final and i == count - 1)
            self._aead.encrypt_into(nonce, plain[lo:hi], None, self._out[written : written + size])
            written += size
            self._counter += 1
        self._emit(self._out[:written])

    def _emit(self, data: memoryview) -> None:
        try:
            self._dst.write(data)
        except BaseException:
            self._state = "failed"
            raise


def encrypt_payload(file_key: bytes, src: BinaryIO, dst: Sink) -> None:
    """Write the nonce and every encrypted chunk of *src* to *dst* (through PayloadWriter)."""
    with PayloadWriter(file_key, dst) as writer:
        writer.write_from(src)


def decrypt_payload(file_key: bytes, src: BinaryIO, dst: BinaryIO) -> None:
    """Read the nonce and chunks from *src*, write verified plaintext to *dst*.

    HeaderError when the 16-byte nonce is missing or short. PayloadError when
    there is no chunk, a chunk is cut short, a tag does not verify, the final
    chunk is empty after a full one, the last chunk is not marked final, or
    data follows the final chunk. Every chunk that authenticated before the
    failing point has been written (see module docstring).
    """
    nonce_buf = memoryview(bytearray(NONCE_SIZE))
    if _read_full(src, nonce_buf) != NONCE_SIZE:
        raise HeaderError("payload: the file ends inside the 16-byte payload nonce")
    aead = ChaCha20Poly1305(payload_key(file_key, bytes(nonce_buf)))
    block = _BLOCK_CHUNKS * ENC_CHUNK_SIZE
    views = [memoryview(bytearray(block)), memoryview(bytearray(block))]
    out = memoryview(bytearray(_BLOCK_CHUNKS * CHUNK_SIZE))
    cur, nxt = views
    n = _read_full(src, cur)
    if n == 0:
        raise PayloadError("payload: no chunks after the nonce (even an empty file has one)")
    counter = 0
    while True:
        # Read one block ahead so the final chunk is known before it is opened.
        if n == block:
            m = _read_full(src, nxt)
            final = m == 0
        else:
            m, final = 0, True
        count = -(-n // ENC_CHUNK_SIZE)
        plain = 0
        for i in range(count):
            lo = i * ENC_CHUNK_SIZE
            hi = min(lo + ENC_CHUNK_SIZE, n)
            last = final and i == count - 1
            size, error = _open_chunk(aead, counter, last, cur[lo:hi], out[plain:])
            plain += size
            if error is not None:
                dst.write(out[:plain])  # every chunk that authenticated
                raise PayloadError(error)
            counter += 1
        dst.write(out[:plain])
        if final:
            return
        cur, nxt = nxt, cur
        n = m


def _open_chunk(
    aead: ChaCha20Poly1305, counter: int, last: bool, chunk: memoryview, out: memoryview
) -> tuple[int, str | None]:
    """Decrypt chunk *counter* into *out*.

    Returns the number of authentic plaintext bytes written to *out* (to be
    released) and the reason the stream is invalid at this chunk, or None.
    """
    if len(chunk) < TAG_SIZE:
        return 0, f"payload: chunk {counter} is truncated (shorter than its tag)"
    if last and len(chunk) == TAG_SIZE and counter > 0:
        return 0, f"payload: the final chunk {counter} is empty after a full chunk"
    size = len(chunk) - TAG_SIZE
    try:
        aead.decrypt_into(_chunk_nonce(counter, last), chunk, None, out[:size])
        return size, None
    except InvalidTag:
        out[:size] = bytes(size)  # never keep unverified plaintext around
    # Only a full-size chunk can carry either flag: a short one is final by
    # its size alone. Opening it with the other flag tells truncation and
    # trailing data apart from damage, and what it yields is authentic.
    if len(chunk) == ENC_CHUNK_SIZE:
        try:
            aead.decrypt_into(_chunk_nonce(counter, not last), chunk, None, out[:size])
        except InvalidTag:
            out[:size] = bytes(size)
        else:
            if last:
                return size, (
                    f"payload: truncated, the file ends after chunk {counter}, which is not final"
                )
            return size, f"payload: data after the final chunk {counter}"
    elif last and _opens(aead, counter, chunk):
        return 0, (
            f"payload: chunk {counter} is short but not marked final "
            "(the file was truncated or altered)"
        )
    return 0, f"payload: chunk {counter} failed authentication (damaged or altered)"


def _opens(aead: ChaCha20Poly1305, counter: int, chunk: memoryview) -> bool:
    """Whether *chunk* authenticates as a not-final chunk (for the error message only)."""
    try:
        aead.decrypt(_chunk_nonce(counter, False), chunk, None)
    except InvalidTag:
        return False
    return True
