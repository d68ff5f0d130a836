"""The age payload: a 16-byte nonce, then STREAM-encrypted 64 KiB chunks.

payload key = HKDF-SHA-256(file key, salt = nonce, info = "payload"); chunk i
is ChaCha20-Poly1305 under the 12-byte nonce ``i (11 bytes, big endian) ‖
last``, where *last* is 0x01 only for the final chunk. The flag is what makes
truncation detectable: a file cut at a chunk boundary ends on a chunk that was
sealed as "not last", which then fails to open as the final one.

Both directions run in constant memory: two input blocks of 16 chunks (one
read ahead) and one output block, reused for the whole stream;
``cryptography``'s ``*_into`` methods write straight into them.

Decryption writes a chunk only after its tag verified, and reads one block
ahead so it knows which chunk is the final one. It cannot know that a *later* chunk
is damaged, though: for a tampered or truncated file the chunks before the bad
one have already been written to the destination when PayloadError is raised
(as with age). Callers that need all-or-nothing must write to a temporary
place and discard it on error.
"""

from __future__ import annotations

import os
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from vault.crypto.primitives import hkdf_sha256
from vault.errors import AgeError, PayloadError

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

    PayloadError when the nonce or a chunk is missing or cut short, a tag does
    not verify, the final chunk is empty after a full one, or data follows the
    final chunk. Chunks before the failing one have been written (see module
    docstring).
    """
    nonce_buf = memoryview(bytearray(NONCE_SIZE))
    if _read_full(src, nonce_buf) != NONCE_SIZE:
        raise PayloadError("payload: the file ends inside the 16-byte payload nonce")
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
        # Hold back one block so the final chunk is known before it is opened.
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
            error = _open_chunk(aead, counter, last, cur[lo:hi], out[plain:])
            if error is not None:
                dst.write(out[:plain])  # the chunks before this one are authentic
                raise PayloadError(error)
            plain += hi - lo - TAG_SIZE
            counter += 1
        dst.write(out[:plain])
        if final:
            return
        cur, nxt = nxt, cur
        n = m


def _open_chunk(
    aead: ChaCha20Poly1305, counter: int, last: bool, chunk: memoryview, out: memoryview
) -> str | None:
    """Decrypt one chunk into *out*; the reason it is invalid, or None."""
    if len(chunk) < TAG_SIZE:
        return f"payload: chunk {counter} is truncated (shorter than its tag)"
    if last and len(chunk) == TAG_SIZE and counter > 0:
        return "payload: the final chunk is empty after a full chunk"
    size = len(chunk) - TAG_SIZE
    try:
        aead.decrypt_into(_chunk_nonce(counter, last), chunk, None, out[:size])
    except InvalidTag:
        out[:size] = bytes(size)  # never keep unverified plaintext around
        return _diagnose(aead, counter, last, chunk)
    return None


def _diagnose(aead: ChaCha20Poly1305, counter: int, last: bool, chunk: memoryview) -> str:
    """Say why chunk *counter* failed: opening it with the other flag tells
    truncation and trailing data apart from plain damage."""
    try:
        aead.decrypt(_chunk_nonce(counter, not last), chunk, None)
    except InvalidTag:
        return f"payload: chunk {counter} failed authentication (damaged or altered)"
    if last:
        return f"payload: truncated, the file ends after chunk {counter}, which is not final"
    return f"payload: data after the final chunk {counter}"
