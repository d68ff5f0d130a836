"""Rebuild the age testkit's STREAM vectors byte for byte (see testkit/README.md).

The upstream suite generates every vector from fixed inputs: a fixed file key
(``YELLOW SUBMARINE`` for one-chunk files, a fixed 16-byte key for files of
64 KiB chunks), a fixed payload nonce for the large files, and "randomness"
that is the ChaCha20 keystream of a fixed key and a zero nonce, consumed in
order by every random choice (ephemeral shares, the small files' nonces,
garbage bytes). Given each vector's description (what is written, in which
order, and which outcome is expected), the bytes follow. This module is that
description, written for ringfence; ``python -m tests.crypto.testkit_build``
writes the files, and ``test_age_testkit.py`` checks that the files on disk
are exactly what this module produces, and that they agree with the facts
published for the upstream files (length, header text, payload hashes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from vault.crypto import bech32
from vault.crypto.primitives import hkdf_sha256

TESTKIT = Path(__file__).parent / "testkit"

SMALL_FILE_KEY = b"YELLOW SUBMARINE"
LARGE_FILE_KEY = bytes.fromhex("7aa5bdac0e6afeed3dd0a7eccb42af44")
LARGE_NONCE = bytes.fromhex("c82f71eb82029b77136399e485e879f4")
CHUNK = 64 * 1024
FIRST, SECOND, THIRD = b"\x00" * CHUNK, b"\x01" * CHUNK, b"\x02" * CHUNK

# The identity the published one-chunk stream vectors name, and the one the
# large-file generators name. Both are test keys published with the suite.
SMALL_IDENTITY = "AGE-SECRET-KEY-1XMWWC06LY3EE5RYTXM9MFLAZ2U56JJJ36S0MYPDRWSVLUL66MV4QX3S7F6"
LARGE_IDENTITY = "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0"
_RANDOMNESS_KEY = b"TEST RANDOMNESS TEST RANDOMNESS!"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _x25519(scalar: bytes, point: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(scalar).exchange(
        X25519PublicKey.from_public_bytes(point)
    )


def _public(scalar: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(scalar).public_key().public_bytes_raw()


@dataclass
class VectorFile:
    """One vector being written: the age bytes, the released payload, the metadata."""

    file_key: bytes = SMALL_FILE_KEY
    buf: bytearray = field(default_factory=bytearray)
    payload: bytearray = field(default_factory=bytearray)
    expect: str = "success"
    identities: list[str] = field(default_factory=list)
    armored: bool = False
    comment: str = ""
    _stream_key: bytes = b""
    _counter: int = 0
    _final: bool = False

    def __post_init__(self) -> None:
        # Every random choice reads the next bytes of one keystream.
        self._rng = Cipher(algorithms.ChaCha20(_RANDOMNESS_KEY, b"\x00" * 16), None).encryptor()

    def rand(self, n: int) -> bytes:
        return self._rng.update(b"\x00" * n)

    def line(self, text: str) -> None:
        self.buf += text.encode() + b"\n"

    def x25519(self, identity: str) -> None:
        """A recipient stanza for *identity*, with a fresh ephemeral share."""
        self.identities.append(identity)
        scalar = bech32.decode(identity)[1]
        share = _public(self.rand(32))
        wrap_key = hkdf_sha256(
            _x25519(scalar, share), share + _public(scalar), b"age-encryption.org/v1/X25519"
        )
        self.line("-> X25519 " + _b64(share))
        body = ChaCha20Poly1305(wrap_key).encrypt(b"\x00" * 12, self.file_key, None)
        for i in range(0, len(body) + 1, 48):
            self.line(_b64(body[i : i + 48]))
            if len(body[i : i + 48]) < 48:
                break

    def mac(self) -> None:
        key = hkdf_sha256(self.file_key, b"", b"header")
        self.line("--- " + _b64(hmac.new(key, bytes(self.buf) + b"---", "sha256").digest()))

    def nonce(self, nonce: bytes) -> None:
        self._stream_key = hkdf_sha256(self.file_key, nonce, b"payload")
        self.buf += nonce

    def chunk(self, plaintext: bytes, *, final: bool = False) -> None:
        self.payload += plaintext
        nonce = self._counter.to_bytes(11, "big") + (b"\x01" if final else b"\x00")
        self.buf += ChaCha20Poly1305(self._stream_key).encrypt(nonce, plaintext, None)
        if not final:
            self._counter += 1

    def expect_failure(self, kind: str, released: int = 0) -> None:
        """Expect *kind*; only the first *released* payload bytes are released."""
        self.expect = kind
        del self.payload[released:]

    def flip_last_bit(self) -> None:
        self.buf[-1] ^= 0b0010_0000

    def render(self) -> bytes:
        meta = [f"expect: {self.expect}"]
        if self.expect in ("success", "payload failure"):
            meta.append(f"payload: {hashlib.sha256(self.payload).hexdigest()}")
        meta.append(f"file key: {self.file_key.hex()}")
        meta += [f"identity: {i}" for i in self.identities]
        if self.armored:
            meta.append("armored: yes")
        if self.comment:
            meta.append(f"comment: {self.comment}")
        return "\n".join(meta).encode() + b"\n\n" + bytes(self.buf)


def _small(body: Callable[[VectorFile], None]) -> bytes:
    """A one-chunk vector: test file key, one X25519 stanza, a random nonce."""
    f = VectorFile()
    f.line("age-encryption.org/v1")
    f.x25519(SMALL_IDENTITY)
    f.mac()
    body(f)
    return f.render()


def _large(body: Callable[[VectorFile], None]) -> bytes:
    """A 64 KiB-chunk vector: the large file key and the fixed nonce."""
    f = VectorFile(file_key=LARGE_FILE_KEY)
    f.line("age-encryption.org/v1")
    f.x25519(LARGE_IDENTITY)
    f.mac()
    f.nonce(LARGE_NONCE)
    body(f)
    return f.render()


def _age_payload(f: VectorFile) -> None:
    f.nonce(f.rand(16))
    f.chunk(b"age", final=True)


def _bad_tag(f: VectorFile) -> None:
    _age_payload(f)
    f.flip_last_bit()
    f.expect_failure("payload failure")


def _missing_tag(f: VectorFile) -> None:
    _age_payload(f)
    del f.buf[-16:]
    f.expect_failure("payload failure")


def _no_chunks(f: VectorFile) -> None:
    f.nonce(f.rand(16))
    f.expect_failure("payload failure")


def _no_final(f: VectorFile) -> None:
    f.nonce(f.rand(16))
    f.chunk(b"age")
    f.expect_failure("payload failure")


def _no_nonce(f: VectorFile) -> None:
    f.expect_failure("header failure")


def _short_nonce(f: VectorFile) -> None:
    f.buf += f.rand(12)
    f.expect_failure("header failure")


def _short_chunk(f: VectorFile) -> None:
    f.nonce(f.rand(16))
    f.buf += f.rand(12)  # shorter than a Poly1305 tag
    f.expect_failure("payload failure")


def _two_chunks(f: VectorFile) -> None:
    f.chunk(FIRST)
    f.chunk(SECOND, final=True)


def _three_chunks(f: VectorFile) -> None:
    f.chunk(FIRST)
    f.chunk(SECOND)
    f.chunk(THIRD, final=True)


def _last_chunk_full(f: VectorFile) -> None:
    f.chunk(FIRST, final=True)


def _last_chunk_empty(f: VectorFile) -> None:
    f.chunk(FIRST)
    f.chunk(b"", final=True)
    f.comment = "final STREAM chunk can't be empty unless whole payload is empty"
    f.expect_failure("payload failure", CHUNK)


def _bad_tag_second_chunk(f: VectorFile) -> None:
    f.chunk(FIRST)
    f.chunk(b"age", final=True)
    f.flip_last_bit()
    f.expect_failure("payload failure", CHUNK)


def _bad_tag_second_chunk_full(f: VectorFile) -> None:
    f.chunk(FIRST)
    f.chunk(SECOND, final=True)
    f.flip_last_bit()
    f.expect_failure("payload failure", CHUNK)


def _no_final_full(f: VectorFile) -> None:
    f.chunk(FIRST)
    f.expect_failure("payload failure", CHUNK)


def _no_final_two_chunks(f: VectorFile) -> None:
    f.chunk(FIRST)
    f.chunk(b"age")
    f.expect_failure("payload failure", CHUNK)


def _no_final_two_chunks_full(f: VectorFile) -> None:
    f.chunk(FIRST)
    f.chunk(SECOND)
    f.expect_failure("payload failure", 2 * CHUNK)


def _short_second_chunk(f: VectorFile) -> None:
    f.chunk(FIRST)
    f.buf += f.rand(12)  # shorter than a Poly1305 tag
    f.expect_failure("payload failure", CHUNK)


def _trailing_garbage(n: int) -> Callable[[VectorFile], None]:
    def body(f: VectorFile) -> None:
        f.chunk(FIRST, final=True)
        f.buf += f.rand(n)
        f.expect_failure("payload failure", CHUNK)

    return body


def _two_final_chunks(f: VectorFile) -> None:
    f.chunk(FIRST, final=True)
    f.chunk(b"age", final=True)
    f.expect_failure("payload failure", CHUNK)


def _armor_garbage_encoded() -> bytes:
    """``stream_trailing_garbage_long``, armored: the armor is valid, the payload is not."""
    f = VectorFile(file_key=LARGE_FILE_KEY)
    f.line("age-encryption.org/v1")
    f.x25519(LARGE_IDENTITY)
    f.mac()
    f.nonce(LARGE_NONCE)
    _trailing_garbage(20)(f)
    text = base64.b64encode(bytes(f.buf)).decode()
    f.buf = bytearray()
    f.line("-----BEGIN AGE ENCRYPTED FILE-----")
    for i in range(0, len(text), 64):
        f.line(text[i : i + 64])
    f.line("-----END AGE ENCRYPTED FILE-----")
    f.armored = True
    f.comment = "there is trailing garbage encoded after the final chunk"
    return f.render()


def _armor_empty() -> bytes:
    f = VectorFile()
    f.line("-----BEGIN AGE ENCRYPTED FILE-----")
    f.line("-----END AGE ENCRYPTED FILE-----")
    f.armored = True
    f.expect_failure("header failure")
    return f.render()


SMALL = {
    "stream_bad_tag": _bad_tag,
    "stream_missing_tag": _missing_tag,
    "stream_no_chunks": _no_chunks,
    "stream_no_final": _no_final,
    "stream_no_nonce": _no_nonce,
    "stream_short_chunk": _short_chunk,
    "stream_short_nonce": _short_nonce,
}
LARGE = {
    "stream_bad_tag_second_chunk": _bad_tag_second_chunk,
    "stream_bad_tag_second_chunk_full": _bad_tag_second_chunk_full,
    "stream_last_chunk_empty": _last_chunk_empty,
    "stream_last_chunk_full": _last_chunk_full,
    "stream_no_final_full": _no_final_full,
    "stream_no_final_two_chunks": _no_final_two_chunks,
    "stream_no_final_two_chunks_full": _no_final_two_chunks_full,
    "stream_short_second_chunk": _short_second_chunk,
    "stream_three_chunks": _three_chunks,
    "stream_trailing_garbage_long": _trailing_garbage(20),
    "stream_trailing_garbage_short": _trailing_garbage(12),
    "stream_two_chunks": _two_chunks,
    "stream_two_final_chunks": _two_final_chunks,
}


def build() -> dict[str, bytes]:
    """Every rebuilt vector, by file name."""
    out = {name: _small(body) for name, body in SMALL.items()}
    out.update({name: _large(body) for name, body in LARGE.items()})
    out["armor_garbage_encoded"] = _armor_garbage_encoded()
    out["armor_empty"] = _armor_empty()
    return out


if __name__ == "__main__":
    for name, data in build().items():
        (TESTKIT / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")
