"""The client side of the exchange (vault/witness/protocol.py), against the real witness."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.witness.conftest import Client, Log
from tests.witness.spec_check import check_cosignature
from vault.audit.note import NoteError, open_note
from vault.witness.cosignature import (
    Cosigner,
    cosigner_key_id,
    parse_cosigner_key,
    verified_cosignatures,
)
from vault.witness.errors import WitnessRefused
from vault.witness.protocol import (
    Conflict,
    Cosigned,
    add_checkpoint_body,
    parse_add_checkpoint,
    read_offline_reply,
    read_reply,
)
from vault.witness.state import WitnessState


def test_the_request_body_round_trips(log: Log) -> None:
    proof = log.proof(4)
    body = add_checkpoint_body(4, proof, log.note())
    assert body.startswith(b"old 4\n")
    parsed = parse_add_checkpoint(body)
    assert (parsed.old_size, list(parsed.proof), parsed.note) == (4, proof, log.note())
    assert parsed.checkpoint == log.checkpoint()
    with pytest.raises(ValueError):
        add_checkpoint_body(-1, [], log.note())
    with pytest.raises(ValueError):
        add_checkpoint_body(1, [b"short"], log.note())


def test_a_cosigned_reply_is_verified_and_attached(
    client: Client, log: Log, state: WitnessState
) -> None:
    note = log.note()
    status, _, body = client.post(log.request(0))
    result = read_reply(status, body, note, [state.cosigner.key.encode()])
    assert isinstance(result, Cosigned)
    assert len(result.cosignatures) == 1
    # The cosigned note still verifies for the log's own key (the witness's
    # line is an unknown signer to it), and the spec verifier takes the line.
    assert open_note(result.note, [log.signer.verifier_key()])[1] == [log.signer.name]
    line = result.note.splitlines(keepends=True)[-1]
    check_cosignature(note[: note.index("\n\n") + 1], line, state.cosigner.key.encode())


def test_replies_from_other_witnesses_or_forged_ones_are_refused(
    client: Client, log: Log, state: WitnessState
) -> None:
    note = log.note()
    status, _, body = client.post(log.request(0))
    stranger = Cosigner("witness.test/other", Ed25519PrivateKey.generate())
    with pytest.raises(WitnessRefused, match="no cosignature from a trusted"):
        read_reply(status, body, note, [stranger.key])
    forged = bytearray(body)
    forged[-20] = ord("A") if forged[-20] != ord("A") else ord("B")
    with pytest.raises(WitnessRefused, match="does not verify"):
        read_reply(200, bytes(forged), note, [state.cosigner.key])
    # A cosignature for another checkpoint of the same log does not verify on this one.
    log.grow(1)
    with pytest.raises(WitnessRefused, match="does not verify"):
        read_reply(200, body, log.note(), [state.cosigner.key])
    with pytest.raises(WitnessRefused):
        read_reply(200, b"", note, [state.cosigner.key])


def test_conflicts_and_refusals(client: Client, log: Log, state: WitnessState) -> None:
    client.post(log.request(0))
    log.grow(2)
    status, _, body = client.post(log.request(3))
    assert read_reply(status, body, log.note(), [state.cosigner.key]) == Conflict(10)
    status, _, body = client.post(log.request(10))
    assert isinstance(read_reply(status, body, log.note(), [state.cosigner.key]), Cosigned)
    with pytest.raises(WitnessRefused) as info:
        read_reply(404, b"unknown log \x1b[31m\n", log.note(), [state.cosigner.key])
    assert info.value.status == 404
    assert "\x1b" not in info.value.message
    with pytest.raises(WitnessRefused):
        read_reply(409, b"ten\n", log.note(), [state.cosigner.key])


def test_offline_replies(witness, log: Log, state: WitnessState) -> None:  # type: ignore[no-untyped-def]
    from vault.witness.protocol import cosignature_lines, size_line

    done = witness.add_checkpoint(log.request(0))
    reply = cosignature_lines([done.cosignature])
    assert isinstance(read_offline_reply(reply, log.note(), [state.cosigner.key]), Cosigned)
    assert read_offline_reply(size_line(10), log.note(), [state.cosigner.key]) == Conflict(10)


def test_cosigner_keys_use_type_0x04() -> None:
    import base64
    import hashlib

    signer = Cosigner("witness.test/k", Ed25519PrivateKey.generate())
    vkey = signer.key.encode()
    name, hex_id, b64 = vkey.split("+", 2)
    raw = base64.b64decode(b64)
    assert raw[0] == 0x04
    assert hex_id == hashlib.sha256(b"witness.test/k\n\x04" + raw[1:]).digest()[:4].hex()
    assert cosigner_key_id(name, raw[1:]).hex() == hex_id
    assert parse_cosigner_key(vkey) == signer.key
    # A log's (0x01) verifier key is not a cosigner key, and the ID must match.
    with pytest.raises(NoteError):
        parse_cosigner_key(f"{name}+{hex_id}+" + base64.b64encode(b"\x01" + raw[1:]).decode())
    with pytest.raises(NoteError):
        parse_cosigner_key(f"{name}+00000000+{b64}")


def test_a_cosignature_is_not_an_ordinary_note_signature(log: Log) -> None:
    """A cosignature's message has its own header, so it never verifies as the
    log's signature, and the reverse."""
    signer = Cosigner("witness.test/k", Ed25519PrivateKey.generate())
    body = log.checkpoint().body()
    cosig = signer.cosign(body, 1_700_000_000)
    note = body.decode() + "\n" + cosig.line()
    assert verified_cosignatures(note, [signer.key]) == [cosig]
    with pytest.raises(NoteError):
        signer.cosign(body, 1 << 63)
