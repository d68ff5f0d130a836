"""The age payload: a 16-byte nonce, then STREAM-encrypted 64 KiB chunks.

payload key = HKDF-SHA-256(file key, salt = nonce, info = "payload"); chunk i
is ChaCha20-Poly1305 under the 12-byte nonce ``i (11 bytes, big endian) ‖
last``, where *last* is 0x01 only for the final chunk. The flag is what makes
truncation detectable: a file cut at a chunk boundary ends on a chunk that was
sealed as "not last", which then fails to open as the final one.

Both directions run in constant memory: two input blocks of 16 chunks (one
read ahead) and one output block, reused for the whole stream;
``cryptography``'s ``*_into`` methods write straight into them.

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
from typing import BinaryIO

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


def encrypt_payload(file_key: bytes, src: BinaryIO, dst: BinaryIO) -> None:
    """Write the nonce and every encrypted chunk of *src* to *dst*."""
    nonce = os.urandom(NONCE_SIZE)
    aead = ChaCha20Poly1305(payload_key(file_key, nonce))
    dst.write(nonce)
    block = _BLOCK_CHUNKS * CHUNK_SIZE
    views = [memoryview(bytearray(block)), memoryview(bytearray(block))]
    out = memoryview(bytearray(_BLOCK_CHUNKS * ENC_CHUNK_SIZE))
    cur, nxt = views
    n = _read_full(src, cur)
    counter = 0
    while True:
        # Read ahead one block: the final chunk is the last one of the last
        # block, and it may be full-size (the spec allows it) or empty (only
        # when the whole plaintext is).
        if n == block:
            m = _read_full(src, nxt)
            final = m == 0
        else:
            m, final = 0, True
        count = max(1, -(-n // CHUNK_SIZE))
        written = 0
        for i in range(count):
            lo = i * CHUNK_SIZE
            hi = min(lo + CHUNK_SIZE, n)
            size = hi - lo + TAG_SIZE
            last = final and i == count - 1
            aead.encrypt_into(
                _chunk_nonce(counter, last), cur[lo:hi], None, out[written : written + size]
            )
            written += size
            counter += 1
        dst.write(out[:written])
        if final:
            return
        cur, nxt = nxt, cur
        n = m


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
