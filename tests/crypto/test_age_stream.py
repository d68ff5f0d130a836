"""Round trips at chunk boundaries, and tampering with every region of a file."""

from __future__ import annotations

import io
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from vault import age
from vault.crypto.stream import CHUNK_SIZE, ENC_CHUNK_SIZE, NONCE_SIZE, payload_key
from vault.errors import AgeError, HeaderError, MACError, NoMatchingIdentity, PayloadError

SIZES = [0, 1, 65535, 65536, 65537, 131072, 3 * 1024 * 1024 + 17]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("armor", [False, True])
def test_round_trip(size: int, armor: bool, identity: age.X25519Identity) -> None:
    data = os.urandom(size)
    sealed = age.encrypt_bytes(data, [identity.recipient], armor=armor)
    assert age.decrypt_bytes(sealed, [identity]) == data
    if not armor:
        header = age.read_header(io.BytesIO(sealed))
        chunks = max(1, -(-size // CHUNK_SIZE))
        assert len(sealed) == len(header) + NONCE_SIZE + size + 16 * chunks


def test_several_recipients(identity: age.X25519Identity) -> None:
    others = [age.generate_identity() for _ in range(3)]
    data = os.urandom(1000)
    sealed = age.encrypt_bytes(data, [identity.recipient, *(str(o.recipient) for o in others)])
    for ident in [identity, *others]:
        assert age.decrypt_bytes(sealed, [ident]) == data
    assert age.decrypt_bytes(sealed, [str(others[2])]) == data
    assert age.decrypt_bytes(sealed, [age.generate_identity(), others[1]]) == data


def _layout(sealed: bytes) -> tuple[int, int]:
    """(header length, payload start of the first chunk)."""
    header = age.read_header(io.BytesIO(sealed))
    return len(header), len(header) + NONCE_SIZE


@pytest.fixture(scope="module")
def two_chunk_file() -> tuple[age.X25519Identity, bytes, bytes]:
    ident = age.generate_identity()
    data = os.urandom(CHUNK_SIZE + 1000)
    return ident, data, age.encrypt_bytes(data, [ident.recipient])


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_tamper_every_region(two_chunk_file: tuple[age.X25519Identity, bytes, bytes]) -> None:
    ident, data, sealed = two_chunk_file
    hlen, c0 = _layout(sealed)
    lines = sealed[:hlen].split(b"\n")
    share_at = len(lines[0]) + 1 + len(b"-> X25519 ")
    body_at = len(lines[0]) + 1 + len(lines[1]) + 1
    mac_at = hlen - 10
    cases: list[tuple[int, type[AgeError]]] = [
        (0, HeaderError),  # version line
        (len(lines[0]) + 1 + 3, NoMatchingIdentity),  # stanza type: X25519 -> Y25519
        (hlen + 3, PayloadError),  # payload nonce
        (c0 + 100, PayloadError),  # chunk 0 body
        (c0 + ENC_CHUNK_SIZE - 1, PayloadError),  # chunk 0 tag
        (c0 + ENC_CHUNK_SIZE + 10, PayloadError),  # chunk 1 body
        (len(sealed) - 1, PayloadError),  # chunk 1 tag
    ]
    for at, kind in cases:
        with pytest.raises(kind):
            age.decrypt_bytes(_flip(sealed, at), [ident])
    # In the base64 regions, a different alphabet character is a well-formed
    # stanza that no longer opens; a character outside it is a header error.
    for at in (share_at + 5, body_at + 3):
        swapped = sealed[:at] + (b"B" if sealed[at : at + 1] == b"A" else b"A") + sealed[at + 1 :]
        with pytest.raises(NoMatchingIdentity):
            age.decrypt_bytes(swapped, [ident])
        with pytest.raises(HeaderError):
            age.decrypt_bytes(sealed[:at] + b"*" + sealed[at + 1 :], [ident])
    # The same for the header MAC (not its last character, so any letter of the
    # alphabet is canonical): another letter fails the MAC, a non-letter parsing.
    mac_swapped = sealed[:mac_at] + (b"B" if sealed[mac_at : mac_at + 1] == b"A" else b"A")
    with pytest.raises(MACError):
        age.decrypt_bytes(mac_swapped + sealed[mac_at + 1 :], [ident])
    with pytest.raises(HeaderError):
        age.decrypt_bytes(sealed[:mac_at] + b"*" + sealed[mac_at + 1 :], [ident])


def test_released_plaintext_is_only_verified_chunks(
    two_chunk_file: tuple[age.X25519Identity, bytes, bytes],
) -> None:
    ident, data, sealed = two_chunk_file
    out = io.BytesIO()
    with pytest.raises(PayloadError):
        age.decrypt(io.BytesIO(_flip(sealed, len(sealed) - 1)), out, [ident])
    assert out.getvalue() == data[:CHUNK_SIZE]  # chunk 0 verified, chunk 1 withheld
    out = io.BytesIO()
    _, c0 = _layout(sealed)
    with pytest.raises(PayloadError):
        age.decrypt(io.BytesIO(_flip(sealed, c0 + 5)), out, [ident])
    assert out.getvalue() == b""


def test_changed_but_valid_header_fails_mac(identity: age.X25519Identity) -> None:
    other = age.generate_identity()
    sealed = age.encrypt_bytes(b"x", [identity.recipient, other.recipient])
    hlen, _ = _layout(sealed)
    lines = sealed[:hlen].split(b"\n")
    # Re-randomize the second stanza: still well-formed, no longer what was MACed.
    share = lines[3].split(b" ")[2]
    lines[3] = b"-> X25519 " + share[:-2] + (b"AA" if share[-2:] != b"AA" else b"BA")
    forged = b"\n".join(lines) + sealed[hlen:]
    with pytest.raises((MACError, HeaderError)):
        age.decrypt_bytes(forged, [identity])
    extra = sealed[: len(lines[0]) + 1] + b"-> grease x\n\n" + sealed[len(lines[0]) + 1 :]
    with pytest.raises(MACError):
        age.decrypt_bytes(extra, [identity])


@pytest.mark.parametrize("cut", ["nonce", "boundary", "mid_chunk", "tag", "no_chunks"])
def test_truncation(cut: str, two_chunk_file: tuple[age.X25519Identity, bytes, bytes]) -> None:
    ident, _, sealed = two_chunk_file
    hlen, c0 = _layout(sealed)
    end = {
        "nonce": hlen + 7,
        "no_chunks": c0,
        "boundary": c0 + ENC_CHUNK_SIZE,
        "mid_chunk": c0 + ENC_CHUNK_SIZE + 500,
        "tag": len(sealed) - 8,
    }[cut]
    # A cut inside the nonce leaves no usable payload: a header failure, as
    # the age test-vector suite classes it (stream_short_nonce).
    with pytest.raises(HeaderError if cut == "nonce" else PayloadError):
        age.decrypt_bytes(sealed[:end], [ident])


def test_truncated_header(identity: age.X25519Identity) -> None:
    sealed = age.encrypt_bytes(b"abc", [identity.recipient])
    hlen, _ = _layout(sealed)
    for end in (0, 5, 22, hlen // 2, hlen - 1):
        with pytest.raises(HeaderError):
            age.decrypt_bytes(sealed[:end], [identity])


@pytest.mark.parametrize("size", [0, 5, CHUNK_SIZE, CHUNK_SIZE + 5])
def test_appended_bytes(size: int, identity: age.X25519Identity) -> None:
    sealed = age.encrypt_bytes(os.urandom(size), [identity.recipient])
    for extra in (b"\x00", os.urandom(16), os.urandom(ENC_CHUNK_SIZE)):
        with pytest.raises(PayloadError):
            age.decrypt_bytes(sealed + extra, [identity])


def _hand_made(identity: age.X25519Identity, chunks: list[tuple[bytes, bool]]) -> bytes:
    """A file whose payload chunks and last flags are chosen by the test."""
    header = age.encrypt_split(io.BytesIO(b""), io.BytesIO(), [identity.recipient])
    file_key = age.unwrap_file_key(header, [identity])
    nonce = os.urandom(NONCE_SIZE)
    aead = ChaCha20Poly1305(payload_key(file_key, nonce))
    out = [header, nonce]
    for i, (plain, last) in enumerate(chunks):
        out.append(aead.encrypt(i.to_bytes(11, "big") + bytes([last]), plain, None))
    return b"".join(out)


def test_stream_edge_cases(identity: age.X25519Identity) -> None:
    full = os.urandom(CHUNK_SIZE)
    assert age.decrypt_bytes(_hand_made(identity, [(b"", True)]), [identity]) == b""
    assert age.decrypt_bytes(_hand_made(identity, [(full, True)]), [identity]) == full
    with pytest.raises(PayloadError, match="empty"):
        age.decrypt_bytes(_hand_made(identity, [(full, False), (b"", True)]), [identity])
    with pytest.raises(PayloadError, match="not final"):
        age.decrypt_bytes(_hand_made(identity, [(full, False)]), [identity])
    with pytest.raises(PayloadError, match="after the final"):
        age.decrypt_bytes(_hand_made(identity, [(full, True), (b"x", True)]), [identity])
    with pytest.raises(PayloadError):  # a short chunk that is not marked last
        age.decrypt_bytes(_hand_made(identity, [(b"abc", False)]), [identity])
    with pytest.raises(PayloadError):  # two final chunks
        age.decrypt_bytes(_hand_made(identity, [(full, True), (full, True)]), [identity])


def test_split_header_and_payload(identity: age.X25519Identity) -> None:
    data = os.urandom(200_000)
    payload = io.BytesIO()
    header = age.encrypt_split(io.BytesIO(data), payload, [identity.recipient])
    assert header.startswith(b"age-encryption.org/v1\n") and header.endswith(b"\n")
    assert b"\n--- " in header
    assert age.decrypt_bytes(header + payload.getvalue(), [identity]) == data
    src = io.BytesIO(header + payload.getvalue())
    assert age.read_header(src) == header
    assert src.tell() == len(header)
    file_key = age.unwrap_file_key(header, [identity])
    assert len(file_key) == 16
    out = io.BytesIO()
    age.decrypt_payload(file_key, io.BytesIO(payload.getvalue()), out)
    assert out.getvalue() == data
    with pytest.raises(PayloadError):
        age.decrypt_payload(bytes(16), io.BytesIO(payload.getvalue()), io.BytesIO())
    with pytest.raises(HeaderError):
        age.unwrap_file_key(header + b"x", [identity])


def test_rewrap_keeps_payload(identity: age.X25519Identity) -> None:
    data = os.urandom(70_000)
    payload = io.BytesIO()
    header = age.encrypt_split(io.BytesIO(data), payload, [identity.recipient])
    requester = age.generate_identity()
    new_header = age.rewrap(header, str(identity), [str(requester.recipient)])
    assert new_header != header
    assert age.decrypt_bytes(new_header + payload.getvalue(), [requester]) == data
    with pytest.raises(NoMatchingIdentity):
        age.decrypt_bytes(new_header + payload.getvalue(), [identity])
    assert age.unwrap_file_key(new_header, requester) == age.unwrap_file_key(header, identity)
    with pytest.raises(NoMatchingIdentity):
        age.rewrap(header, [requester], [requester.recipient])


def _released(data: bytes, identity: age.X25519Identity) -> tuple[bytes, str]:
    """What decrypt wrote before it raised PayloadError, and the error text."""
    out = io.BytesIO()
    with pytest.raises(PayloadError) as caught:
        age.decrypt(io.BytesIO(data), out, [identity])
    return out.getvalue(), caught.value.message


def test_every_authentic_chunk_is_released_before_the_error(
    identity: age.X25519Identity,
) -> None:
    """As age does: the chunks that authenticate are written, then the error names the chunk."""
    a, b = os.urandom(CHUNK_SIZE), os.urandom(CHUNK_SIZE)
    cases = {
        # cut at a chunk boundary: the last chunk was sealed as "not final"
        "truncated": ([(a, False), (b, False)], a + b, "chunk 1"),
        # a full final chunk, then more chunks or bytes
        "two finals": ([(a, True), (b"age", True)], a, "chunk 0"),
        "final then full": ([(a, False), (b, True), (a, False)], a + b, "chunk 1"),
        # a short chunk not marked final is never released
        "short not final": ([(a, False), (b"age", False)], a, "chunk 1"),
    }
    for name, (chunks, released, names) in cases.items():
        got, message = _released(_hand_made(identity, chunks), identity)
        assert got == released, name
        assert names in message, name
    sealed = _hand_made(identity, [(a, False), (b, True)])
    got, message = _released(sealed + os.urandom(20), identity)
    assert got == a + b and "chunk 1" in message
    got, message = _released(sealed[:-1] + bytes([sealed[-1] ^ 1]), identity)
    assert got == a and "chunk 1" in message


def test_release_across_a_block_boundary(identity: age.X25519Identity) -> None:
    """Chunks are read 16 at a time; truncation right after a block releases all of it."""
    data = os.urandom(16 * CHUNK_SIZE)
    chunks = [(data[i : i + CHUNK_SIZE], False) for i in range(0, len(data), CHUNK_SIZE)]
    got, message = _released(_hand_made(identity, chunks), identity)
    assert got == data and "chunk 15" in message
    more = chunks + [(b"tail", True), (b"x", True)]
    got, message = _released(_hand_made(identity, more), identity)
    assert got == data and "chunk 16" in message
