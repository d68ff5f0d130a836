"""A backup taken while the real daemon seals clips: consistent, and nothing lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import FAST_LOG_N
from tests.tools import PASSPHRASE, cli_env, run_cli
from vault.service import Vault
from vault.service.backup_check import restore, verify_backup


def _wait_for(pred, what: str, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _clip_count(root: Path) -> int:
    v = Vault.open(root)
    try:
        return len(v.clips.all())
    finally:
        v.close()


def test_backup_during_ingest_restores_with_every_clip_identical(tmp_path: Path) -> None:
    root = tmp_path / "vault"
    drop = tmp_path / "drop"
    drop.mkdir()
    Vault.init(root, PASSPHRASE, log_n=FAST_LOG_N).close()
    run_cli(root, "camera", "add", "front", str(drop))
    daemon = subprocess.Popen(
        [sys.executable, "-m", "vault", "daemon", "--settle", "0.2"],
        env=cli_env(root, passphrase=None),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    stop = threading.Event()
    dropped: list[str] = []

    def camera() -> None:
        n = 0
        while not stop.is_set():
            name = f"clip{n:04d}.mp4"
            tmp = drop / f".{name}.part"
            tmp.write_bytes(os.urandom(20_000 + n))
            os.rename(tmp, drop / name)
            dropped.append(name)
            n += 1
            time.sleep(0.05)

    feeder = threading.Thread(target=camera)
    try:
        _wait_for(lambda: (root / "daemon.json").exists(), "the daemon to start")
        feeder.start()
        _wait_for(lambda: _clip_count(root) >= 5, "some clips to be sealed")
        dest = tmp_path / "usb"
        first = json.loads(run_cli(root, "backup", str(dest), "--json", passphrase=None).stdout)
        assert first["clips"] >= 5
        second = json.loads(run_cli(root, "backup", str(dest), "--json", passphrase=None).stdout)
        assert second["payloads_added"] >= 0
        check = verify_backup(str(dest))
        assert check.ok, check.problems
        stop.set()
        feeder.join()
        _wait_for(
            lambda: not any(p.suffix == ".mp4" for p in drop.iterdir()),
            "every dropped clip to be sealed",
        )
    finally:
        stop.set()
        if feeder.is_alive():
            feeder.join()
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()

    original = Vault.open(root)
    try:
        assert len(original.clips.all()) == len(dropped), "the daemon lost a clip"
        with pytest.MonkeyPatch.context() as mp:  # another machine: its own owner head
            mp.setenv("XDG_CONFIG_HOME", str(tmp_path / "fresh-machine"))
            restore(str(dest), tmp_path / "restored", PASSPHRASE)
            restored = Vault.open(tmp_path / "restored")
        try:
            assert restored.audit.verify(restored.verifier_keys()).ok
            got = {c.id: c for c in restored.clips.all()}
            assert len(got) == second["clips"]
            want = {c.id: c for c in original.clips.all()}
            for cid, clip in got.items():
                assert want[cid].sha256 == clip.sha256
                assert (
                    restored.store.path(cid).read_bytes() == original.store.path(cid).read_bytes()
                )
        finally:
            restored.close()
        # The next run, with ingest over, brings the backup up to every clip.
        last = original.backups.take(str(dest))
        assert last.clips == len(dropped)
        assert verify_backup(str(dest)).ok
    finally:
        original.close()
