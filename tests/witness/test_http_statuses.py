"""The add-checkpoint status matrix of c2sp.org/tlog-witness, over real HTTP on loopback."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.witness.conftest import NOW, Client, Log
from tests.witness.spec_check import check_cosignature
from vault.audit.note import NoteSigner, b64encode
from vault.witness.protocol import add_checkpoint_body
from vault.witness.state import WitnessState


def _text(note: str) -> str:
    return note[: note.index("\n\n") + 1]


def test_first_checkpoint_is_cosigned_and_the_spec_verifier_accepts_it(
    client: Client, log: Log, state: WitnessState
) -> None:
    status, ctype, body = client.post(log.request(0))
    assert status == 200, body
    assert ctype.startswith("text/plain")
    lines = body.decode().splitlines(keepends=True)
    assert len(lines) == 1
    ts = check_cosignature(_text(log.note()), lines[0], state.cosigner.key.encode())
    assert ts == int(NOW.timestamp())
    assert [(r.origin, r.size, r.root) for r in state.logs()] == [(log.origin, 10, log.root(10))]


def test_a_consistent_extension_is_cosigned(client: Client, log: Log, state: WitnessState) -> None:
    assert client.post(log.request(0))[0] == 200
    log.grow(7)
    status, _, body = client.post(log.request(10))
    assert status == 200, body
    check_cosignature(_text(log.note()), body.decode(), state.cosigner.key.encode())
    # The same checkpoint again (old size = size) is cosigned again.
    status, _, body = client.post(log.request(17))
    assert status == 200, body


def test_unknown_origin_is_404(client: Client) -> None:
    other = Log("ringfence.vault/someoneelse").grow(3)
    status, _, body = client.post(other.request(0))
    assert status == 404
    assert b"does not know the log" in body


def test_signed_by_an_unknown_key_is_403(client: Client, log: Log) -> None:
    stranger = NoteSigner(log.signer.name, Ed25519PrivateKey.generate())
    body = add_checkpoint_body(0, [], log.note(signers=[stranger]))
    status, _, reply = client.post(body)
    assert status == 403, reply


def test_a_bad_signature_by_the_trusted_key_is_403(client: Client, log: Log) -> None:
    note = log.note()
    text, sig = note.split("\n\n")
    name, b64 = sig.rstrip("\n").removeprefix("\u2014 ").split(" ")
    raw = bytearray(base64.b64decode(b64))
    raw[-1] ^= 1
    forged = f"{text}\n\n\u2014 {name} {b64encode(bytes(raw))}\n"
    status, _, reply = client.post(add_checkpoint_body(0, [], forged))
    assert status == 403, reply


def test_wrong_old_size_is_409_with_the_size_cosigned(client: Client, log: Log) -> None:
    assert client.post(log.request(0))[0] == 200
    log.grow(5)
    status, ctype, body = client.post(log.request(4))
    assert status == 409
    assert ctype == "text/x.tlog.size"
    assert body == b"10\n"
    # A client that knows nothing asks with old 0 and learns the size.
    status, ctype, body = client.post(log.request(0))
    assert (status, body) == (409, b"10\n")


def test_same_size_other_root_is_409_and_kept_as_evidence(
    client: Client, log: Log, state: WitnessState
) -> None:
    assert client.post(log.request(0))[0] == 200
    fork = Log(log.origin, log.signer)
    fork.leaves = [*log.leaves[:9], b"\x00" * 32]
    status, ctype, body = client.post(add_checkpoint_body(10, [], fork.note()))
    assert (status, ctype, body) == (409, "text/x.tlog.size", b"10\n")
    evidence = state.evidence(log.origin)
    assert len(evidence) == 1
    assert "another root" in evidence[0][1]


def test_a_proof_that_does_not_verify_is_422_and_kept(
    client: Client, log: Log, state: WitnessState
) -> None:
    assert client.post(log.request(0))[0] == 200
    fork = Log(log.origin, log.signer)
    fork.leaves = [*log.leaves[:5], *(b"\x01" * 32 for _ in range(9))]
    status, _, body = client.post(fork.request(10))  # a proof of the fork's own history
    assert status == 422, body
    assert state.logs()[0].size == 10
    assert len(state.evidence(log.origin)) == 1
    # A proof of the right length with one hash flipped.
    log.grow(4)
    proof = log.proof(10)
    proof[0] = bytes([proof[0][0] ^ 1]) + proof[0][1:]
    status, _, body = client.post(add_checkpoint_body(10, proof, log.note()))
    assert status == 422, body


@pytest.mark.parametrize(
    "mangle",
    [
        lambda b: b.replace(b"\n\n", b"\n", 1),  # no empty line
        lambda b: b"old 01" + b[b.index(b"\n") :],  # leading zero
        lambda b: b"old -1" + b[b.index(b"\n") :],
        lambda b: b"Old 0" + b[b.index(b"\n") :],
        lambda b: b"old 11" + b[b.index(b"\n") :],  # above the checkpoint's size
        lambda b: b"old 0\n" + b"AAAA\n" + b[b.index(b"\n\n") + 1 :],  # a proof line not 32 bytes
        lambda b: b"old 0\n" + base64.b64encode(b"\x00" * 32) + b"\n" + b[b.index(b"\n\n") + 1 :],
        lambda b: (
            b"old 0\n"
            + base64.b64encode(b"\x00" * 32).rstrip(b"=")
            + b"\n"
            + b[b.index(b"\n\n") + 1 :]
        ),  # unpadded base64
        lambda b: (
            b"old 0\n"
            + b"\n".join([base64.b64encode(b"\x00" * 32)] * 64)
            + b"\n"
            + b[b.index(b"\n\n") + 1 :]
        ),  # 64 proof lines
        lambda b: b[: b.rindex(b"\n\n")] + b"\n",  # no signature lines
        lambda b: b.replace(b"\n10\n", b"\n010\n"),  # checkpoint size malformed
        lambda b: b"\xff" + b,
        lambda b: b"",
    ],
    ids=[
        "no-blank",
        "leading-zero",
        "negative",
        "case",
        "old-above-size",
        "short-hash",
        "proof-with-old-0",
        "unpadded",
        "64-lines",
        "unsigned",
        "bad-size",
        "not-utf8",
        "empty",
    ],
)
def test_malformed_requests_are_400(client: Client, log: Log, mangle) -> None:  # type: ignore[no-untyped-def]
    status, _, body = client.post(mangle(log.request(0)))
    assert status == 400, body
    assert b"Traceback" not in body


def test_sixty_three_proof_lines_are_allowed(client: Client, log: Log) -> None:
    head = b"old 10\n" + b"\n".join([base64.b64encode(b"\x00" * 32)] * 63) + b"\n\n"
    status, _, body = client.post(head + log.note().encode())
    assert status == 409, body  # parsed; only then refused for its old size


def test_http_framing_is_bounded(client: Client, log: Log) -> None:
    import http.client

    conn = http.client.HTTPConnection(client.host, client.port, timeout=60)
    conn.putrequest("POST", "/add-checkpoint")
    conn.endheaders()
    assert conn.getresponse().status == 411
    conn.close()
    status, _, _ = client.post(b"x" * ((1 << 20) + 1))
    assert status == 413
    conn = http.client.HTTPConnection(client.host, client.port, timeout=60)
    conn.request(
        "POST",
        "/add-checkpoint",
        body=iter([log.request(0)]),
        headers={"Transfer-Encoding": "chunked"},
    )
    assert conn.getresponse().status == 411
    conn.close()
    assert client.post(log.request(0), path="/other")[0] == 404
    conn = http.client.HTTPConnection(client.host, client.port, timeout=60)
    conn.request("GET", "/add-checkpoint")
    assert conn.getresponse().status == 405
    conn.close()


def test_keep_alive_serves_several_requests_on_one_connection(client: Client, log: Log) -> None:
    import http.client

    conn = http.client.HTTPConnection(client.host, client.port, timeout=60)
    conn.request("POST", "/add-checkpoint", body=log.request(0))
    first = conn.getresponse()
    assert first.status == 200
    first.read()
    log.grow(1)
    conn.request("POST", "/add-checkpoint", body=log.request(10))
    assert conn.getresponse().status == 200
    conn.close()


def test_an_unexpected_failure_is_a_bare_500(
    client: Client, log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vault.witness.witness import Witness

    def boom(self: Witness, body: bytes) -> None:
        raise RuntimeError("/secret/path/witness.key went away")

    monkeypatch.setattr(Witness, "add_checkpoint", boom)
    status, _, body = client.post(log.request(0))
    assert (status, body) == (500, b"internal error\n")


def test_a_submission_prefix(witness, log: Log) -> None:  # type: ignore[no-untyped-def]
    import threading

    from vault.witness.server import WitnessServer

    srv = WitnessServer(("127.0.0.1", 0), witness, prefix="/w1/")
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        assert srv.url.endswith("/w1")
        c = Client(srv)
        assert c.post(log.request(0))[0] == 404
        assert c.post(log.request(0), path="/w1/add-checkpoint")[0] == 200
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.mark.parametrize("length", ["\u00b2", "\u0663", "1\u00b9", "+5", " 5 5", "-1", "0x10"])
def test_a_content_length_that_is_not_ascii_digits_is_a_400(
    client: Client, length: str, caplog: pytest.LogCaptureFixture
) -> None:
    # "²" and "٣" pass str.isdigit(); int() refuses the first: a 500 with a
    # traceback in the witness's log, for anyone on the network, before this.
    import socket

    # Header bytes are read as Latin-1; a character beyond it arrives as UTF-8.
    value = length.encode("latin-1") if max(map(ord, length)) < 256 else length.encode()
    raw = (
        b"POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nContent-Length: "
        + value
        + b"\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((client.host, client.port), timeout=60) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400") or answer.startswith(b"HTTP/1.0 400"), answer[:80]
    assert "Traceback" not in caplog.text
