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
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from vault.crypto import bech32
from vault.crypto.primitives import hkdf_sha256

TESTKIT = Path(__file__).parent / "testkit"

SMALL_FILE_KEY = b"YELLOW SUBMARINE"
LARGE_FILE_KEY = bytes.fromhex("7aa5bdac0e6afeed3dd0a7eccb42af44")
LARGE_NONCE = bytes.fromhex("c82f71eb82029b77136399e485e879f4")
CHUNK = 64 * 1024
FIRST, SECOND, THIRD = b"\x00" * CHUNK, b"\x01" * CHUNK, b"\x02" * CHUNK

# The suite's test identity, and its public key, which the older generators
# also use as a scalar (so some vectors name that as their identity).
TEST_IDENTITY = bech32.decode(
    "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0"
)[1]
_RANDOMNESS_KEY = b"TEST RANDOMNESS TEST RANDOMNESS!"
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _x25519(scalar: bytes, point: bytes) -> bytes:
    """X25519; the all-zero result for a low-order point, as the generators use it."""
    try:
        return X25519PrivateKey.from_private_bytes(scalar).exchange(
            X25519PublicKey.from_public_bytes(point)
        )
    except ValueError:
        return bytes(32)


def _public(scalar: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(scalar).public_key().public_bytes_raw()


TEST_RECIPIENT = _public(TEST_IDENTITY)


def not_canonical(text: str) -> str:
    """The same bytes, spelled with a set spare bit: the next alphabet letter last."""
    return text[:-1] + _ALPHABET[_ALPHABET.index(text[-1]) + 1]


@dataclass
class VectorFile:
    """One vector being written: the age bytes, the released payload, the metadata."""

    file_key: bytes = SMALL_FILE_KEY
    buf: bytearray = field(default_factory=bytearray)
    payload: bytearray = field(default_factory=bytearray)
    expect: str = "success"
    identities: list[str] = field(default_factory=list)
    passphrases: list[str] = field(default_factory=list)
    armored: bool = False
    comment: str = ""
    _stream_key: bytes = b""
    _counter: int = 0

    def __post_init__(self) -> None:
        # Every random choice reads the next bytes of one keystream.
        self._rng = Cipher(algorithms.ChaCha20(_RANDOMNESS_KEY, b"\x00" * 16), None).encryptor()

    def rand(self, n: int) -> bytes:
        return self._rng.update(b"\x00" * n)

    # -- header text ------------------------------------------------------------

    def line(self, text: str) -> None:
        self.buf += text.encode() + b"\n"

    def version(self, v: str = "v1") -> None:
        self.line("age-encryption.org/" + v)

    def args_line(self, *args: str) -> None:
        self.line(" ".join(["->", *args]))

    def body(self, data: bytes) -> None:
        """Base64 in 48-byte lines; the last line is short (empty after a full one)."""
        while True:
            chunk, data = data[:48], data[48:]
            self.line(_b64(chunk))
            if len(chunk) < 48:
                return

    def unread_line(self) -> str:
        """Take the last line back out of the buffer."""
        text = bytes(self.buf).removesuffix(b"\n")
        cut = text.rfind(b"\n") + 1
        self.buf = bytearray(text[:cut])
        return text[cut:].decode()

    def unread_args(self) -> list[str]:
        return self.unread_line().removeprefix("-> ").split(" ")

    def _aead_body(self, key: bytes) -> None:
        self.body(ChaCha20Poly1305(key).encrypt(b"\x00" * 12, self.file_key, None))

    def x25519(self, identity: bytes) -> None:
        self.record_identity(identity)
        self.x25519_stanza(_public(self.rand(32)), identity)

    def record_identity(self, identity: bytes) -> None:
        self.identities.append(bech32.encode("AGE-SECRET-KEY-", identity))

    def x25519_stanza(self, share: bytes, identity: bytes) -> None:
        """A stanza for *identity* with ephemeral *share* (computed from the identity side)."""
        self.args_line("X25519", _b64(share))
        salt = share + _public(identity)
        self._aead_body(
            hkdf_sha256(_x25519(identity, share), salt, b"age-encryption.org/v1/X25519")
        )

    def scrypt(
        self, passphrase: str, work_factor: int, salt: bytes | None = None, *, record: bool = True
    ) -> None:
        if record:
            self.passphrases.append(passphrase)
        salt = self.rand(16) if salt is None else salt
        self.args_line("scrypt", _b64(salt), str(work_factor))
        kdf = Scrypt(b"age-encryption.org/v1/scrypt" + salt, 32, 1 << work_factor, 8, 1)
        self._aead_body(kdf.derive(passphrase.encode()))

    def mac(self) -> None:
        key = hkdf_sha256(self.file_key, b"", b"header")
        self.mac_line(hmac.new(key, bytes(self.buf) + b"---", "sha256").digest())

    def mac_line(self, mac: bytes) -> None:
        self.line("--- " + _b64(mac))

    # -- payload ------------------------------------------------------------------

    def nonce(self, nonce: bytes) -> None:
        self._stream_key = hkdf_sha256(self.file_key, nonce, b"payload")
        self.buf += nonce

    def chunk(self, plaintext: bytes, *, final: bool = False) -> None:
        self.payload += plaintext
        nonce = self._counter.to_bytes(11, "big") + (b"\x01" if final else b"\x00")
        self.buf += ChaCha20Poly1305(self._stream_key).encrypt(nonce, plaintext, None)
        if not final:
            self._counter += 1

    def random_chunk(self, size: int, *, final: bool = False) -> None:
        """A chunk as the newer generators write it: *size* bytes of plaintext
        that are the ChaCha20 keystream of the payload key under the chunk's
        own nonce, from block 1; the counter advances after final chunks too."""
        nonce = self._counter.to_bytes(11, "big") + (b"\x01" if final else b"\x00")
        keystream = Cipher(
            algorithms.ChaCha20(self._stream_key, b"\x01\x00\x00\x00" + nonce), None
        ).encryptor()
        plaintext = keystream.update(bytes(size))
        self.payload += plaintext
        self.buf += ChaCha20Poly1305(self._stream_key).encrypt(nonce, plaintext, None)
        self._counter += 1

    def age_payload(self, plaintext: bytes = b"age") -> None:
        """A random nonce and one final chunk: most vectors end this way."""
        self.nonce(self.rand(16))
        self.chunk(plaintext, final=True)

    def expect_failure(self, kind: str, released: int = 0) -> None:
        """Expect *kind*; only the first *released* payload bytes are released."""
        self.expect = kind
        del self.payload[released:]

    def flip_last_bit(self) -> None:
        self.buf[-1] ^= 0b0010_0000

    def armor(self) -> None:
        """Wrap what was written so far in the ASCII armor."""
        data = bytes(self.buf)
        self.buf = bytearray()
        self.line("-----BEGIN AGE ENCRYPTED FILE-----")
        text = base64.b64encode(data).decode()
        for i in range(0, len(text), 64):
            self.line(text[i : i + 64])
        self.line("-----END AGE ENCRYPTED FILE-----")
        self.armored = True

    def render(self) -> bytes:
        meta = [f"expect: {self.expect}"]
        if self.expect in ("success", "payload failure"):
            meta.append(f"payload: {hashlib.sha256(self.payload).hexdigest()}")
        meta.append(f"file key: {self.file_key.hex()}")
        meta += [f"identity: {i}" for i in self.identities]
        meta += [f"passphrase: {p}" for p in self.passphrases]
        if self.armored:
            meta.append("armored: yes")
        if self.comment:
            meta.append(f"comment: {self.comment}")
        return "\n".join(meta).encode() + b"\n\n" + bytes(self.buf)


def _small(body: Callable[[VectorFile], None]) -> bytes:
    """A one-chunk vector: test file key, one X25519 stanza, a random nonce."""
    f = VectorFile()
    f.version()
    f.x25519(TEST_RECIPIENT)
    f.mac()
    body(f)
    return f.render()


def _large(body: Callable[[VectorFile], None]) -> bytes:
    """A 64 KiB-chunk vector: the large file key and the fixed nonce."""
    f = VectorFile(file_key=LARGE_FILE_KEY)
    f.version()
    f.x25519(TEST_IDENTITY)
    f.mac()
    f.nonce(LARGE_NONCE)
    body(f)
    return f.render()


def _bad_tag(f: VectorFile) -> None:
    f.age_payload()
    f.flip_last_bit()
    f.expect_failure("payload failure")


def _missing_tag(f: VectorFile) -> None:
    f.age_payload()
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
    f.version()
    f.x25519(TEST_IDENTITY)
    f.mac()
    f.nonce(LARGE_NONCE)
    _trailing_garbage(20)(f)
    f.armor()
    f.comment = "there is trailing garbage encoded after the final chunk"
    return f.render()


def _armor_empty() -> bytes:
    f = VectorFile()
    f.line("-----BEGIN AGE ENCRYPTED FILE-----")
    f.line("-----END AGE ENCRYPTED FILE-----")
    f.armored = True
    f.expect_failure("header failure")
    return f.render()


# -- header vectors: one change to an otherwise valid file -----------------------

Edit = Callable[[VectorFile], None]


def _header(
    edit_stanzas: Edit | None = None,
    edit_mac: Edit | None = None,
    *,
    expect: str = "success",
    identity: bytes = TEST_IDENTITY,
    file_key: bytes = SMALL_FILE_KEY,
    comment: str = "",
) -> bytes:
    """version line, one X25519 stanza (then *edit_stanzas*), the MAC (then
    *edit_mac*), and the one-chunk payload ``age``."""
    f = VectorFile(file_key=file_key)
    f.version()
    f.x25519(identity)
    if edit_stanzas is not None:
        edit_stanzas(f)
    f.mac()
    if edit_mac is not None:
        edit_mac(f)
    f.age_payload()
    if expect != "success":
        f.expect_failure(expect)
    f.comment = comment
    return f.render()


def _header_pk(edit_stanzas: Edit | None = None, **kwargs: Any) -> bytes:
    """:func:`_header` with the test public key used as the identity, as the
    published stanza vectors (and a few X25519 ones) were generated."""
    return _header(edit_stanzas, identity=TEST_RECIPIENT, **kwargs)


def _replace_mac(make: Callable[[str], str]) -> Edit:
    def edit(f: VectorFile) -> None:
        f.line(make(f.unread_line()))

    return edit


def _replace_x25519(
    make_args: Callable[[list[str]], str] | None = None,
    make_body: Callable[[str], str] | None = None,
) -> Edit:
    def edit(f: VectorFile) -> None:
        body, args = f.unread_line(), f.unread_line()
        f.line(make_args(args.split(" ")) if make_args else args)
        f.line(make_body(body) if make_body else body)

    return edit


def _flip_body_tag(body: str) -> str:
    raw = bytearray(base64.b64decode(body + "=" * (-len(body) % 4)))
    raw[-1] ^= 0xFF
    return _b64(bytes(raw))


def _header_crlf() -> bytes:
    f = VectorFile()
    f.version()
    f.x25519(TEST_IDENTITY)
    f.buf = bytearray(bytes(f.buf).replace(b"\n", b"\r\n"))
    f.mac()
    mac_line = f.unread_line()
    f.buf += mac_line.encode() + b"\r\n"
    f.age_payload()
    f.expect_failure("header failure")
    f.comment = "lines in the header end with CRLF instead of LF"
    return f.render()


def _hmac_bad() -> bytes:
    f = VectorFile()
    f.version()
    f.x25519(TEST_IDENTITY)
    f.file_key = bytes(16)
    f.mac()
    f.file_key = SMALL_FILE_KEY
    f.age_payload()
    f.expect_failure("HMAC failure")
    return f.render()


def _x25519_special_share(
    share: bytes | None, comment: str, *, long: bool = False, short: bool = False
) -> bytes:
    f = VectorFile()
    f.version()
    if long:
        share = _public(f.rand(32))
    assert share is not None
    f.record_identity(TEST_IDENTITY)
    f.x25519_stanza(share, TEST_IDENTITY)
    if long or short:
        body, _ = f.unread_line(), f.unread_line()
        f.line("-> X25519 " + _b64(share + b"\x00" if long else share[:31]))
        f.line(body)
    f.mac()
    f.age_payload()
    f.expect_failure("header failure")
    f.comment = comment
    return f.render()


def _x25519_no_match() -> bytes:
    f = VectorFile()
    f.version()
    f.record_identity(f.rand(32))
    f.x25519_stanza(_public(f.rand(32)), TEST_RECIPIENT)
    f.mac()
    f.age_payload()
    f.expect_failure("no match")
    return f.render()


def _x25519_multiple_recipients() -> bytes:
    f = VectorFile()
    f.version()
    other = f.rand(32)
    f.x25519_stanza(_public(f.rand(32)), other)
    f.x25519(TEST_RECIPIENT)
    f.mac()
    f.age_payload()
    return f.render()


def _x25519_grease() -> bytes:
    f = VectorFile()
    f.version()
    f.args_line("grease")
    f.body(b"")
    f.x25519(TEST_RECIPIENT)
    f.args_line("grease")
    f.body(b"")
    f.mac()
    f.age_payload()
    return f.render()


def _valid_characters() -> bytes:
    f = VectorFile()
    f.version()
    f.args_line(
        "!\"#$%&'",
        "()*+,-./",
        "01234567",
        "89:;<=>?",
        "@ABCDEFG",
        "HIJKLMNO",
        "PQRSTUVW",
        "XYZ[\\]^_",
        "`abcdefg",
        "hijklmno",
        "pqrstuvw",
        "xyz{|}~",
    )
    f.body(b"")
    f.x25519(TEST_RECIPIENT)
    f.mac()
    f.age_payload()
    return f.render()


def _armored(identity: bytes | None) -> bytes:
    """A valid one-chunk file, armored (X25519 to *identity*, or scrypt)."""
    f = VectorFile()
    f.version()
    if identity is None:
        f.scrypt("password", 10)
    else:
        f.x25519(identity)
    f.mac()
    f.age_payload()
    f.armor()
    return f.render()


def _stream_two_final_chunks_full() -> bytes:
    f = VectorFile()
    f.version()
    f.x25519(TEST_IDENTITY)
    f.mac()
    f.nonce(f.rand(16))
    f.random_chunk(CHUNK, final=True)
    f.random_chunk(CHUNK, final=True)
    f.expect_failure("payload failure", CHUNK)
    return f.render()


def _empty() -> bytes:
    f = VectorFile()
    f.expect_failure("header failure")
    return f.render()


def _armor_empty_last_line() -> bytes:
    f = VectorFile()
    f.version()
    f.x25519(TEST_IDENTITY)
    f.mac()
    f.age_payload(b"age " * 10)
    data = bytes(f.buf)
    assert len(data) % 48 == 0, "the last armor line must be full"
    f.buf = bytearray()
    f.line("-----BEGIN AGE ENCRYPTED FILE-----")
    f.body(data)  # ends with an empty line
    f.line("-----END AGE ENCRYPTED FILE-----")
    f.armored = True
    f.expect_failure("armor failure")
    return f.render()


# -- scrypt vectors ---------------------------------------------------------------


def _scrypt(
    edit: Edit | None = None,
    *,
    expect: str = "success",
    work_factor: int = 10,
    file_key: bytes = SMALL_FILE_KEY,
    comment: str = "",
) -> bytes:
    f = VectorFile(file_key=file_key)
    f.version()
    f.scrypt("password", work_factor)
    if edit is not None:
        edit(f)
    f.mac()
    f.age_payload()
    if expect != "success":
        f.expect_failure(expect)
    f.comment = comment
    return f.render()


def _scrypt_args(make: Callable[[list[str]], list[str]]) -> Edit:
    def edit(f: VectorFile) -> None:
        body, args = f.unread_line(), f.unread_args()
        f.args_line(*make(args))
        f.line(body)

    return edit


def _scrypt_salt(salt: bytes | None, *, drop: bool = False) -> bytes:
    f = VectorFile()
    f.version()
    f.passphrases.append("password")
    f.scrypt("password", 10, salt if salt is not None else b"", record=False)
    if drop:
        body, args = f.unread_line(), f.unread_args()
        f.args_line(args[0], args[2])
        f.line(body)
    f.mac()
    f.age_payload()
    f.expect_failure("header failure")
    return f.render()


def _scrypt_salt_rand(n: int) -> bytes:
    f = VectorFile()
    f.version()
    f.passphrases.append("password")
    f.scrypt("password", 10, f.rand(n), record=False)
    f.mac()
    f.age_payload()
    f.expect_failure("header failure")
    return f.render()


def _scrypt_and_x25519() -> bytes:
    f = VectorFile()
    f.version()
    f.record_identity(f.rand(32))
    f.x25519_stanza(_public(f.rand(32)), TEST_IDENTITY)
    f.scrypt("password", 10)
    f.mac()
    f.age_payload()
    f.expect_failure("header failure")
    f.comment = "scrypt stanzas must be alone in the header"
    return f.render()


def _scrypt_double() -> bytes:
    f = VectorFile()
    f.version()
    f.scrypt("password", 10)
    f.scrypt("hunter2", 10)
    f.mac()
    f.age_payload()
    f.expect_failure("header failure")
    f.comment = "scrypt stanzas must be alone in the header"
    return f.render()


def _scrypt_no_match() -> bytes:
    f = VectorFile()
    f.version()
    f.passphrases.append("wrong")
    f.scrypt("password", 10, record=False)
    f.mac()
    f.age_payload()
    f.expect_failure("no match")
    return f.render()


def _scrypt_work_factor_23() -> bytes:
    # The generator writes this stanza literally: scrypt at 2**23 is too slow.
    f = VectorFile()
    f.version()
    f.passphrases.append("password")
    f.args_line("scrypt", "rF0/NwblUHHTpgQgRpe5CQ", "23")
    f.line("qW9eVsT0NVb/Vswtw8kPIxUnaYmm9Px1dYmq2+4+qZA")
    f.mac()
    f.age_payload()
    f.expect_failure("header failure")
    f.comment = "work factor is very high, would take a long time to compute"
    return f.render()


_HDR, _NOMATCH = "header failure", "no match"
_NOT_CANONICAL = "the base64 encoding of the share is not canonical"
_SHARE_ZERO_COMMENT = (
    "the X25519 share is a low-order point, so the shared secret is the disallowed all-zero value"
)
# A point of order 8 on Curve25519, the one least likely to be on a hardcoded list.
_LOW_ORDER_SHARE = bytes.fromhex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7")
_SHORT_SHARE = bytes.fromhex("97ba38a135fd5f9137fca3836bfec24340ab03d7ca316b26f482636334a52600")


def vendored_cross_check() -> dict[str, bytes]:
    """Vendored vectors (copied, not rebuilt) that these descriptions also
    produce: the builder must give exactly their bytes."""
    return {
        "x25519": _header(identity=TEST_RECIPIENT),
        "x25519_bad_tag": _header(
            _replace_x25519(make_body=_flip_body_tag),
            expect=_NOMATCH,
            identity=TEST_RECIPIENT,
            comment="the ChaCha20Poly1305 authentication tag on the body of the X25519 "
            "stanza is wrong",
        ),
    }


def _header_vectors() -> dict[str, Callable[[], bytes]]:
    return {
        "empty": _empty,
        "armor_scrypt": lambda: _armored(None),
        "armor_x25519": lambda: _armored(TEST_IDENTITY),
        "stream_two_final_chunks_full": _stream_two_final_chunks_full,
        "armor_empty_last_line": _armor_empty_last_line,
        "header_crlf": _header_crlf,
        "hmac_bad": _hmac_bad,
        "hmac_extra_space": lambda: _header(
            edit_mac=_replace_mac(lambda m: m.replace("--- ", "---  ")), expect=_HDR
        ),
        "hmac_garbage": lambda: _header(edit_mac=_replace_mac(lambda m: m + "AAA"), expect=_HDR),
        "hmac_missing": lambda: _header(edit_mac=_replace_mac(lambda m: "--- "), expect=_HDR),
        "hmac_no_space": lambda: _header(
            edit_mac=_replace_mac(lambda m: m.replace("--- ", "---")), expect=_HDR
        ),
        "hmac_truncated": lambda: _header(
            edit_mac=_replace_mac(lambda m: m[: len("--- 1234")]), expect=_HDR
        ),
        "stanza_bad_start": lambda: _header_pk(
            lambda f: (f.line("-- stanza"), f.body(b"")), expect=_HDR
        ),
        "stanza_base64_padding": lambda: _header_pk(
            lambda f: (f.args_line("stanza"), f.body(b"A" * 50), f.line(f.unread_line() + "=")),
            expect=_HDR,
        ),
        "stanza_empty_argument": lambda: _header_pk(
            lambda f: (f.args_line("stanza", "", "argument"), f.body(b"")), expect=_HDR
        ),
        "stanza_empty_body": lambda: _header_pk(lambda f: (f.args_line("empty"), f.body(b""))),
        "stanza_invalid_character": lambda: _header_pk(
            lambda f: (f.args_line("stanza", "\u00e8"), f.body(b"")), expect=_HDR
        ),
        "stanza_long_line": lambda: _header_pk(
            lambda f: (f.args_line("stanza"), f.line("A" * 68), f.line("")),
            expect=_HDR,
            comment="a body line is longer than 64 columns",
        ),
        "stanza_missing_body": lambda: _header_pk(
            lambda f: f.args_line("empty"),
            expect=_HDR,
            comment="every stanza must end with a short body line, even if empty",
        ),
        "stanza_multiple_short_lines": lambda: _header_pk(
            lambda f: (f.args_line("stanza"), f.line("A" * 32), f.line("A" * 32)),
            expect=_HDR,
            comment="a short body line ends the stanza",
        ),
        "stanza_no_arguments": lambda: _header_pk(
            lambda f: (f.args_line(), f.body(b"")), expect=_HDR
        ),
        "stanza_spurious_cr": lambda: _header_pk(
            lambda f: (f.args_line("stanza"), f.line("A" * 32 + "\r" + "A" * 31)), expect=_HDR
        ),
        "valid_characters": _valid_characters,
        "x25519_extra_argument": lambda: _header(
            _replace_x25519(make_args=lambda a: " ".join(a) + " 1234"),
            expect=_HDR,
            identity=TEST_RECIPIENT,
            comment=_NOT_CANONICAL,
        ),
        "x25519_grease": _x25519_grease,
        "x25519_identity": lambda: _x25519_special_share(bytes(32), _SHARE_ZERO_COMMENT),
        "x25519_long_file_key": lambda: _header(
            expect=_HDR,
            file_key=b"A LONGER YELLOW SUBMARINE",
            comment="the file key must be checked to be 16 bytes before decrypting it",
        ),
        "x25519_long_share": lambda: _x25519_special_share(
            None, "a trailing zero is missing from the X25519 share", long=True
        ),
        "x25519_low_order": lambda: _x25519_special_share(_LOW_ORDER_SHARE, _SHARE_ZERO_COMMENT),
        "x25519_lowercase": lambda: _header_pk(
            _replace_x25519(make_args=lambda a: " ".join(["->", "x25519", a[2]])),
            expect=_NOMATCH,
            comment="the first argument in the X25519 stanza is lowercase",
        ),
        "x25519_multiple_recipients": _x25519_multiple_recipients,
        "x25519_no_match": _x25519_no_match,
        "x25519_not_canonical_body": lambda: _header_pk(
            _replace_x25519(make_body=not_canonical), expect=_HDR, comment=_NOT_CANONICAL
        ),
        "x25519_not_canonical_share": lambda: _header_pk(
            _replace_x25519(make_args=lambda a: not_canonical(" ".join(a))),
            expect=_HDR,
            comment=_NOT_CANONICAL,
        ),
        "x25519_short_share": lambda: _x25519_special_share(
            _SHORT_SHARE, "a trailing zero is missing from the X25519 share", short=True
        ),
        "scrypt": lambda: _scrypt(),
        "scrypt_and_x25519": _scrypt_and_x25519,
        "scrypt_bad_tag": lambda: _scrypt(
            lambda f: f.line(_flip_body_tag(f.unread_line())),
            expect=_NOMATCH,
            comment="the ChaCha20Poly1305 authentication tag on the body of the scrypt "
            "stanza is wrong",
        ),
        "scrypt_double": _scrypt_double,
        "scrypt_extra_argument": lambda: _scrypt(
            _replace_x25519(make_args=lambda a: " ".join(a) + " 10"),
            expect=_HDR,
            comment=_NOT_CANONICAL,
        ),
        "scrypt_long_file_key": lambda: _scrypt(
            expect=_HDR,
            file_key=b"A LONGER YELLOW SUBMARINE",
            comment="the file key must be checked to be 16 bytes before decrypting it",
        ),
        "scrypt_no_match": _scrypt_no_match,
        "scrypt_not_canonical_body": lambda: _scrypt(
            lambda f: f.line(not_canonical(f.unread_line())), expect=_HDR, comment=_NOT_CANONICAL
        ),
        "scrypt_not_canonical_salt": lambda: _scrypt(
            _scrypt_args(lambda a: [a[0], not_canonical(a[1]), a[2]]), expect=_HDR
        ),
        "scrypt_salt_long": lambda: _scrypt_salt_rand(20),
        "scrypt_salt_missing": lambda: _scrypt_salt(None, drop=True),
        "scrypt_salt_short": lambda: _scrypt_salt_rand(12),
        "scrypt_uppercase": lambda: _scrypt(
            _scrypt_args(lambda a: ["Scrypt", a[1], a[2]]), expect=_NOMATCH
        ),
        "scrypt_work_factor_23": _scrypt_work_factor_23,
        **{
            f"scrypt_work_factor_{name}": (
                lambda v=value: _scrypt(_scrypt_args(lambda a: [a[0], a[1], v]), expect=_HDR)
            )
            for name, value in (
                ("hex", "0xa"),
                ("leading_garbage", "aaaa10"),
                ("leading_plus", "+10"),
                ("leading_zero_decimal", "010"),
                ("leading_zero_octal", "012"),
                ("negative", "-10"),
                ("overflow", str((1 << 63) + 10)),
                ("trailing_garbage", "aaaa10"),
                ("zero", "0"),
            )
        },
        "scrypt_work_factor_missing": lambda: _scrypt(
            _scrypt_args(lambda a: [a[0], a[1]]), expect=_HDR, work_factor=18
        ),
        "scrypt_work_factor_wrong": lambda: _scrypt(
            _scrypt_args(lambda a: [a[0], a[1], "10"]), expect=_NOMATCH, work_factor=18
        ),
    }


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
    out.update({name: make() for name, make in _header_vectors().items()})
    return out


if __name__ == "__main__":
    for name, data in build().items():
        (TESTKIT / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")
