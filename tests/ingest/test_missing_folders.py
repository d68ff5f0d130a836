"""The daemon survives a missing drop folder: it says so once, keeps sealing
for the other cameras, and picks the folder up once it exists."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.tools import cli_env, run_cli
from vault.service import Vault


@pytest.fixture
def two_cameras(tmp_path: Path) -> tuple[Path, Path, Path]:
    vault_dir = tmp_path / "vault"
    front, back = tmp_path / "front", tmp_path / "share" / "back"
    front.mkdir()
    Vault.init(vault_dir, "pw", log_n=10).close()
    run_cli(vault_dir, "camera", "add", "front", str(front))
    run_cli(vault_dir, "camera", "add", "back", str(back))  # made by camera add
    back.rmdir()  # a share not mounted yet, a folder deleted
    return vault_dir, front, back


def _clips(vault_dir: Path) -> list[str]:
    v = Vault.open(vault_dir)
    try:
        return [c.camera for c in v.clips.all()]
    finally:
        v.close()


def test_once_seals_the_other_folders_and_reports_the_missing_one(
    two_cameras: tuple[Path, Path, Path],
) -> None:
    vault_dir, front, back = two_cameras
    (front / "a.mp4").write_bytes(os.urandom(1000))
    result = run_cli(vault_dir, "daemon", "--once", env=cli_env(vault_dir, RINGFENCE_LOG="INFO"))
    assert "Traceback" not in result.stderr
    assert result.stderr.count(f"drop folder {back} is missing") == 1
    assert "1 folder(s) skipped" in result.stderr
    assert _clips(vault_dir) == ["front"]
    status = json.loads(run_cli(vault_dir, "status", "--json").stdout)
    by_path = {f["path"]: f for f in status["folders"]}
    assert by_path[str(back)]["missing"] is True and by_path[str(back)]["camera"] == "back"
    assert by_path[str(front)]["missing"] is False and by_path[str(front)]["problem"] is None
    text = run_cli(vault_dir, "status").stdout
    assert f"folder {back} (back): missing" in text
    assert f"skipped folder: drop folder {back} is missing" in text


def test_a_running_daemon_picks_up_a_folder_once_it_exists(
    two_cameras: tuple[Path, Path, Path],
) -> None:
    vault_dir, front, back = two_cameras
    proc = subprocess.Popen(
        [sys.executable, "-m", "vault", "daemon", "--rescan", "0.3", "--settle", "0.2"],
        env=cli_env(vault_dir, RINGFENCE_LOG="INFO"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    log = b""

    def read_until(pred, timeout: float = 60) -> bool:  # type: ignore[no-untyped-def]
        nonlocal log
        end = time.monotonic() + timeout
        assert proc.stderr is not None
        while time.monotonic() < end:
            if pred():
                return True
            ready, _, _ = select.select([proc.stderr.fileno()], [], [], 0.1)
            if ready:
                log += os.read(proc.stderr.fileno(), 65536)
        return pred()

    try:
        assert read_until(lambda: b"watching 1 folder(s)" in log), log.decode()
        (front / "a.mp4").write_bytes(os.urandom(1000))
        assert read_until(lambda: _clips(vault_dir) == ["front"])
        back.mkdir(parents=True)
        (back / "b.mp4").write_bytes(os.urandom(1200))
        assert read_until(lambda: sorted(_clips(vault_dir)) == ["back", "front"]), log.decode()
        # The catalog row commits before the plaintext is removed: wait for both.
        assert read_until(lambda: not (back / "b.mp4").exists()), log.decode()
        # Events work there too, not only the rescan.
        assert read_until(lambda: b"now also watching" in log), log.decode()
        proc.terminate()
        assert proc.wait(timeout=30) == 0
        log += proc.stderr.read()  # type: ignore[union-attr]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.decode()
    assert text.count(f"drop folder {back} is missing") == 1, text
    assert "Traceback" not in text


def test_a_folder_added_before_identities_were_kept_is_recorded_at_first_sight(
    tmp_path: Path,
) -> None:
    import sqlite3

    vault_dir, drop = tmp_path / "vault", tmp_path / "drop"
    drop.mkdir()
    Vault.init(vault_dir, "pw", log_n=10).close()
    run_cli(vault_dir, "camera", "add", "front", str(drop))
    db = sqlite3.connect(vault_dir / "catalog.db", isolation_level=None)
    db.execute("UPDATE camera_folder SET identity = NULL")  # as an older vault has it
    db.close()
    (drop / "a.mp4").write_bytes(os.urandom(500))
    run_cli(vault_dir, "daemon", "--once")
    assert _clips(vault_dir) == ["front"]
    st = drop.stat()
    db = sqlite3.connect(vault_dir / "catalog.db")
    assert db.execute("SELECT identity FROM camera_folder").fetchall() == [
        (f"{st.st_dev}:{st.st_ino}",)
    ]
    db.close()
    v = Vault.open(vault_dir)
    try:
        recorded = [e for _i, e in v.audit.entries() if e["type"] == "camera.folder_recorded"]
        assert [e["details"]["was"] for e in recorded] == [None]
    finally:
        v.close()
