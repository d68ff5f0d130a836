"""A log to feed the witness, and a witness served on loopback."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vault.audit import merkle
from vault.audit.note import Checkpoint, NoteSigner, sign_note
from vault.witness.protocol import add_checkpoint_body
from vault.witness.server import WitnessServer
from vault.witness.state import WitnessState
from vault.witness.witness import Witness

ORIGIN = "ringfence.vault/testlog0001"
NOW = datetime(2026, 12, 2, 12, 0, 0, tzinfo=UTC)


class Log:
    """A real Merkle log of synthetic entries whose checkpoints a real key signs."""

    def __init__(self, origin: str = ORIGIN, signer: NoteSigner | None = None) -> None:
        self.origin = origin
        self.signer = signer or NoteSigner(f"{origin}/device", Ed25519PrivateKey.generate())
        self.leaves: list[bytes] = []

    def grow(self, n: int) -> Log:
        start = len(self.leaves)
        self.leaves += [merkle.leaf_hash(f"entry {i}".encode()) for i in range(start, start + n)]
        return self

    def _subtree(self, level: int, pos: int) -> bytes:
        return merkle.root_from_leaves(self.leaves[pos << level : (pos + 1) << level])

    def root(self, size: int) -> bytes:
        return merkle.root_from_leaves(self.leaves[:size])

    def checkpoint(self, size: int | None = None) -> Checkpoint:
        size = len(self.leaves) if size is None else size
        return Checkpoint(self.origin, size, self.root(size))

    def note(self, size: int | None = None, signers: list[NoteSigner] | None = None) -> str:
        return sign_note(self.checkpoint(size).body(), signers or [self.signer])

    def proof(self, old: int, new: int | None = None) -> list[bytes]:
        new = len(self.leaves) if new is None else new
        return merkle.consistency_proof(old, new, self._subtree)

    def request(self, old: int, new: int | None = None) -> bytes:
        new = len(self.leaves) if new is None else new
        return add_checkpoint_body(old, self.proof(old, new) if old else [], self.note(new))


@pytest.fixture
def log() -> Log:
    return Log().grow(10)


@pytest.fixture
def state(tmp_path: Path, log: Log) -> WitnessState:
    st = WitnessState.open(tmp_path / "witness", name="witness.test/w1")
    st.trust(log.origin, log.signer.verifier_key(), NOW)
    return st


@pytest.fixture
def witness(state: WitnessState) -> Witness:
    return Witness(state, clock=lambda: NOW)


class Client:
    def __init__(self, server: WitnessServer) -> None:
        self.host, self.port = server.server_address[:2]

    def post(
        self, body: bytes, path: str = "/add-checkpoint", headers: dict[str, str] | None = None
    ) -> tuple[int, str, bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request("POST", path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.getheader("Content-Type") or "", resp.read()
        finally:
            conn.close()


@pytest.fixture
def server(witness: Witness) -> Iterator[WitnessServer]:
    srv = WitnessServer(("127.0.0.1", 0), witness)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=60)


@pytest.fixture
def client(server: WitnessServer) -> Client:
    return Client(server)


def run_main(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, str, str]:
    """``ringfence --vault ROOT ARGS`` in this process (the real parser and error
    mapping, no interpreter start-up): exit code, stdout, stderr."""
    from vault.cli import main

    capsys.readouterr()
    code = main(["--vault", str(root), *args])
    out, err = capsys.readouterr()
    return code, out, err
