"""Stopping is always clean: SIGTERM or SIGINT at any moment of start-up (opening
the vault, recovery, the export sweep, the catalog check, camera loading, the
first rescan) ends a real daemon process with exit 0 after its current step,
and nothing is lost."""

from __future__ import annotations

import hashlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.tools import cli_env, run_cli
from vault.ingest.daemon import install_stop_signals
from vault.service import Vault

POINTS = [
    "start-up: opening the vault",
    "start-up: recovery",
    "start-up: sweeping killed exports",
    "start-up: checking the catalog",
    "start-up: loading cameras",
    "start-up: the start entry",
    "watching 1 folder(s)",
]


def _wait_for_line(proc: subprocess.Popen[bytes], marker: str, timeout: float = 60) -> str:
    """Read the daemon's stderr until a line holds *marker*; returns what was read."""
    assert proc.stderr is not None
    seen = b""
    end = time.monotonic() + timeout
    fd = proc.stderr.fileno()
    while marker.encode() not in seen:
        left = end - time.monotonic()
        assert left > 0, f"no {marker!r} within {timeout}s:\n{seen.decode()}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            assert chunk, f"the daemon ended before {marker!r}:\n{seen.decode()}"
            seen += chunk
    return seen.decode()


#: SIGTERM at every point, SIGINT (Ctrl-C) at three of them.
CASES = [(p, signal.SIGTERM) for p in POINTS] + [
    (p, signal.SIGINT) for p in (POINTS[0], POINTS[4], POINTS[-1])
]


@pytest.mark.parametrize(("point", "signum"), CASES)
def test_a_stop_at_any_moment_of_start_up_exits_zero_and_loses_nothing(
    tmp_path: Path, point: str, signum: int
) -> None:
    vault_dir = tmp_path / "vault"
    drop = tmp_path / "drop"
    drop.mkdir()
    Vault.init(vault_dir, "pw", log_n=10).close()
    run_cli(vault_dir, "camera", "add", "front", str(drop))
    inputs = {}
    for i in range(4):
        data = os.urandom(50_000) + bytes([i])
        (drop / f"c{i}.mp4").write_bytes(data)
        inputs[hashlib.sha256(data).hexdigest()] = data
    old = time.time() - 60
    for p in drop.iterdir():
        os.utime(p, (old, old))
    proc = subprocess.Popen(
        [sys.executable, "-m", "vault", "daemon", "--settle", "0"],
        env=cli_env(vault_dir, RINGFENCE_LOG="DEBUG"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_line(proc, point)
        proc.send_signal(signum)
        code = proc.wait(timeout=60)
        rest = proc.stderr.read().decode()  # type: ignore[union-attr]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 0, rest
    assert "Traceback" not in rest
    v = Vault.open(vault_dir)
    try:
        sealed = {c.sha256 for c in v.clips.all()}
        waiting = {hashlib.sha256(p.read_bytes()).hexdigest() for p in drop.iterdir()}
        assert sealed | waiting == set(inputs) and not (sealed & waiting)
        types = [e["type"] for _i, e in v.audit.entries()]
        assert types.count("daemon.started") == types.count("daemon.stopped")
        assert v.audit.verify(v.verifier_keys()).ok
        assert {c.id for c in v.clips.all()} == {b for b in v.store.ids() if b.startswith("clp_")}
        assert v.store.intents() == {}
    finally:
        v.close()
    # What a stop left undone, the next pass finishes.
    run_cli(vault_dir, "daemon", "--once")
    assert list(drop.iterdir()) == []


def test_a_stop_signal_arriving_inside_the_stop_events_lock_does_not_hang() -> None:
    """The handler must not take the Event's lock: a signal runs between two
    bytecodes of the main thread, which may hold it (inside the first
    handler's ``set()``, or in ``wait()``). `make run` stopped with killpg sent
    the daemon two SIGTERMs, and a handler that set the Event itself hung.

    Here the lock is held, exactly as at that moment, while the handler runs.
    """
    old = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    stop = threading.Event()
    try:
        install_stop_signals(stop)
        handler = signal.getsignal(signal.SIGTERM)
        assert callable(handler)
        returned = threading.Event()

        def interrupted_inside_the_lock() -> None:
            with stop._cond:  # type: ignore[attr-defined]  # what the main thread held
                handler(signal.SIGTERM, None)
                handler(signal.SIGTERM, None)
            returned.set()

        worker = threading.Thread(target=interrupted_inside_the_lock, daemon=True)
        worker.start()
        assert returned.wait(30), "the stop handler waited for the Event's lock"
        assert stop.wait(30), "the stop was not relayed"
    finally:
        signal.signal(signal.SIGTERM, old[0])
        signal.signal(signal.SIGINT, old[1])
