"""Concurrent add-checkpoint calls, and peers that are slow or many."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from pathlib import Path

from tests.witness.conftest import Client, Log
from vault.witness.server import WitnessServer
from vault.witness.state import WitnessState
from vault.witness.witness import Witness


def _race(client: Client, bodies: list[bytes]) -> list[tuple[int, str, bytes]]:
    barrier = threading.Barrier(len(bodies))
    results: list[tuple[int, str, bytes] | None] = [None] * len(bodies)

    def go(i: int) -> None:
        barrier.wait(timeout=60)
        results[i] = client.post(bodies[i])

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def test_two_concurrent_extensions_only_one_wins(
    client: Client, log: Log, state: WitnessState
) -> None:
    assert client.post(log.request(0))[0] == 200
    for round_ in range(5):
        base = len(log.leaves)
        log.grow(3 + round_)
        small = log.request(base, base + 1)
        large = log.request(base)
        results = _race(client, [small, large])
        statuses = sorted(r[0] for r in results)
        assert statuses == [200, 409], results
        winner = 0 if results[0][0] == 200 else 1
        won_size = base + 1 if winner == 0 else len(log.leaves)
        loser = results[1 - winner]
        # The loser is told the size the winner stored, so it can ask again.
        assert loser[1] == "text/x.tlog.size"
        assert loser[2] == f"{won_size}\n".encode()
        assert state.logs()[0].size == won_size
        if won_size != len(log.leaves):  # catch up, so each round starts cosigned
            assert client.post(log.request(won_size))[0] == 200


def test_a_second_process_on_the_same_folder_sees_the_stored_size(
    tmp_path: Path, client: Client, log: Log, state: WitnessState
) -> None:
    other = Witness(WitnessState.open(state.root))
    other.add_checkpoint(log.request(0))
    status, _, body = client.post(log.request(0))
    assert (status, body) == (409, b"10\n")


def _closed(sock: socket.socket, deadline: float) -> bool:
    sock.settimeout(1.0)
    while time.monotonic() < deadline:
        try:
            data = sock.recv(4096)
        except TimeoutError:
            continue
        except OSError:
            return True
        if not data:
            return True
    return False


def test_a_slow_peer_is_cut_off(witness: Witness) -> None:
    srv = WitnessServer(("127.0.0.1", 0), witness, read_timeout=5.0, request_deadline=1.0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        sock = socket.create_connection(srv.server_address[:2], timeout=60)
        # A header dripped byte by byte: each read is within the read timeout,
        # but the whole request never ends. The deadline cuts it.
        sock.sendall(b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\n")
        start = time.monotonic()
        cut = False
        while time.monotonic() - start < 60:
            try:
                sock.sendall(b"X")
            except OSError:
                cut = True
                break
            if _closed(sock, time.monotonic() + 0.5):
                cut = True
                break
        assert cut, "the server kept a dripping peer for a minute"
        sock.close()
        # A silent peer (no byte at all) is dropped by the read timeout.
        silent = socket.create_connection(srv.server_address[:2], timeout=60)
        assert _closed(silent, time.monotonic() + 60)
        silent.close()
    finally:
        srv.shutdown()
        srv.server_close()


def test_connections_beyond_the_limit_are_closed(witness: Witness, log: Log, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import vault.witness.server as server_mod

    monkeypatch.setattr(server_mod, "MAX_CONNECTIONS", 2)
    srv = WitnessServer(("127.0.0.1", 0), witness, read_timeout=30.0, request_deadline=30.0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        idle = [socket.create_connection(srv.server_address[:2], timeout=60) for _ in range(2)]
        extra = socket.create_connection(srv.server_address[:2], timeout=60)
        assert _closed(extra, time.monotonic() + 60)
        for s in idle:
            s.close()
        # Once the idle ones are gone, the slots come back.
        deadline = time.monotonic() + 60
        status = 0
        while status != 200 and time.monotonic() < deadline:
            try:
                status = Client(srv).post(log.request(0))[0]
            except (http.client.HTTPException, ConnectionError):
                time.sleep(0.1)
        assert status == 200
    finally:
        srv.shutdown()
        srv.server_close()


def test_the_peers_request_line_is_logged_escaped(client: Client, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    caplog.set_level(logging.INFO, logger="ringfence.witness")
    with socket.create_connection((client.host, client.port), timeout=60) as sock:
        sock.sendall(b"GET /\x1b]0;owned\x07 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 404")
    deadline = time.monotonic() + 60
    while "owned" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "owned" in caplog.text
    assert "\x1b" not in caplog.text and "\x07" not in caplog.text
