"""The daemon as a real long-running process: events, slow writers, locking, signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.tools import cli_env, run_cli
from vault.service import Vault


@pytest.fixture
def live(tmp_path: Path):
    vault_dir = tmp_path / "vault"
    drop = tmp_path / "drop"
    drop.mkdir()
    Vault.init(vault_dir, "pw", log_n=10).close()
    run_cli(vault_dir, "camera", "add", "front", str(drop))
    procs: list[subprocess.Popen[bytes]] = []

    def start(*extra: str) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(
            [sys.executable, "-m", "vault", "daemon", *extra],
            env=cli_env(vault_dir, RINGFENCE_LOG="INFO"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        procs.append(p)
        return p

    yield vault_dir, drop, start
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def _wait_for(pred, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def _clips(vault_dir: Path) -> list:  # type: ignore[type-arg]
    v = Vault.open(vault_dir)
    try:
        return v.clips.all()
    finally:
        v.close()


def test_a_growing_file_is_sealed_only_when_finished(live) -> None:  # type: ignore[no-untyped-def]
    vault_dir, drop, start = live
    start("--settle", "3")
    assert _wait_for(lambda: (vault_dir / "daemon.json").exists())
    target = drop / "slow.mp4"
    chunks = [os.urandom(50_000) for _ in range(12)]
    with open(target, "wb") as f:  # kept open: no close event until the end
        for chunk in chunks:
            f.write(chunk)
            f.flush()
            # 3.6 s of writing in all, longer than the settle time; each pause
            # is far shorter than it, with room for a slow, busy machine.
            time.sleep(0.3)
            assert _clips(vault_dir) == [], "sealed while still being written"
            assert target.exists()
    assert _wait_for(lambda: len(_clips(vault_dir)) == 1)
    (clip,) = _clips(vault_dir)
    assert clip.size == sum(len(c) for c in chunks)
    assert not target.exists()


def test_close_write_seals_quickly_and_sigterm_exits_zero(live) -> None:  # type: ignore[no-untyped-def]
    vault_dir, drop, start = live
    proc = start()
    assert _wait_for(lambda: (vault_dir / "daemon.json").exists())
    (drop / "door.mp4").write_bytes(b"ding dong" * 1000)
    assert _wait_for(lambda: not (drop / "door.mp4").exists(), timeout=10)
    assert len(_clips(vault_dir)) == 1
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    err = proc.stderr.read().decode()  # type: ignore[union-attr]
    assert "stopped" in err


def test_two_daemons_on_one_vault_refused(live) -> None:  # type: ignore[no-untyped-def]
    vault_dir, _drop, start = live
    start()
    assert _wait_for(lambda: (vault_dir / "daemon.json").exists())
    second = run_cli(vault_dir, "daemon", check=False, timeout=30)
    assert second.returncode == 8
    assert "another ringfence daemon" in second.stderr
    status = run_cli(vault_dir, "status", "--json")
    assert '"running": true' in status.stdout


def test_files_dropped_while_down_are_picked_up_at_start(live) -> None:  # type: ignore[no-untyped-def]
    vault_dir, drop, start = live
    (drop / "early.mp4").write_bytes(b"before the daemon")
    old = time.time() - 60
    os.utime(drop / "early.mp4", (old, old))
    start()
    assert _wait_for(lambda: len(_clips(vault_dir)) == 1)
