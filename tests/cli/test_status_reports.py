"""`ringfence status` tells the truth while no daemon runs: files held back
because they repeat a shredded clip, capture times that fell back to the mtime,
payloads the catalog does not know."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.tools import cli_env, run_cli
from vault.service import Vault


def _vault(tmp_path: Path, *camera_args: str) -> tuple[Path, Path]:
    vault_dir, drop = tmp_path / "vault", tmp_path / "drop"
    drop.mkdir()
    Vault.init(vault_dir, "pw", log_n=10).close()
    run_cli(vault_dir, "camera", "add", "front", str(drop), *camera_args)
    return vault_dir, drop


def test_a_file_held_back_after_daemon_once_is_listed_with_its_reason(tmp_path: Path) -> None:
    vault_dir, drop = _vault(tmp_path)
    data = os.urandom(3000)
    (drop / "ring.mp4").write_bytes(data)
    run_cli(vault_dir, "daemon", "--once")
    (clip,) = json.loads(run_cli(vault_dir, "clips", "list", "--json").stdout)
    run_cli(vault_dir, "clips", "shred", clip["id"], "--reason", "owner's choice")
    (drop / "again.mp4").write_bytes(data)  # the camera uploads the same clip again
    run_cli(vault_dir, "daemon", "--once")
    assert (drop / "again.mp4").read_bytes() == data
    status = json.loads(run_cli(vault_dir, "status", "--json").stdout)
    assert status["daemon"]["running"] is False
    assert status["held_back"] == [
        {
            "path": str(drop / "again.mp4"),
            "clip": clip["id"],
            "reason": "the same bytes as a shredded clip",
        }
    ]
    text = run_cli(vault_dir, "status").stdout
    assert f"held back:      {drop / 'again.mp4'}: the same bytes as a shredded clip" in text
    # A second pass leaves it alone without saying so again, and status still lists it.
    again = run_cli(vault_dir, "daemon", "--once", env=cli_env(vault_dir, RINGFENCE_LOG="INFO"))
    assert "shredded" not in again.stderr
    assert len(json.loads(run_cli(vault_dir, "status", "--json").stdout)["held_back"]) == 1
    # Once the owner removes it, it is no longer listed.
    (drop / "again.mp4").unlink()
    assert json.loads(run_cli(vault_dir, "status", "--json").stdout)["held_back"] == []


def test_a_capture_time_from_the_mtime_is_said_once_per_camera_and_counted(
    tmp_path: Path,
) -> None:
    vault_dir, drop = _vault(tmp_path, "--pattern", "front_%Y%m%d_%H%M%S")
    (drop / "front_20261128_101500.mp4").write_bytes(os.urandom(1000))
    (drop / "IMG_0001.mp4").write_bytes(os.urandom(1001))
    (drop / "IMG_0002.mp4").write_bytes(os.urandom(1002))
    result = run_cli(vault_dir, "daemon", "--once", env=cli_env(vault_dir, RINGFENCE_LOG="INFO"))
    assert result.stderr.count("does not match --pattern") == 1, result.stderr
    assert "camera front: IMG_000" in result.stderr
    status = json.loads(run_cli(vault_dir, "status", "--json").stdout)
    assert status["cameras"] == [
        {
            "name": "front",
            "clips": 3,
            "last_ingest": status["last_ingest"],
            "time_from_mtime": 2,
            "truncated": 0,
            "ftp": False,
        }
    ]
    text = run_cli(vault_dir, "status").stdout
    assert "capture time:   front: 2 clip(s) whose name did not match --pattern" in text


def test_status_names_payloads_the_catalog_does_not_know(tmp_path: Path) -> None:
    vault_dir, drop = _vault(tmp_path)
    (drop / "a.mp4").write_bytes(os.urandom(1000))
    run_cli(vault_dir, "daemon", "--once")
    v = Vault.open(vault_dir)
    try:
        with v.store.writer("clp_stray000000000000") as w:
            w.write(b"from somewhere")
            w.commit()
    finally:
        v.close()
    status = json.loads(run_cli(vault_dir, "status", "--json").stdout)
    assert status["unknown_payloads"] == ["clp_stray000000000000"]
    assert "unknown payloads: 1 stored clip payload(s)" in run_cli(vault_dir, "status").stdout


def test_a_damaged_heartbeat_file_never_breaks_status(tmp_path: Path) -> None:
    """The heartbeat file is the daemon's own JSON, but anyone who can write the
    vault's folder can change it: fields of the wrong type are ignored, with no
    traceback, in the text and in --json."""
    from vault.config import Layout

    vault_dir, _drop = _vault(tmp_path)
    state = Layout(vault_dir).daemon_state
    for beat in (
        {"held_back": 5, "beat_at": 7, "receivers": [1], "errors": 3, "pid": "x"},
        {"held_back": ["nope", {"path": 3}, {"size": "big"}], "receivers": {"ftp": 1}},
        {"held_back": {"path": "/etc/passwd"}, "errors": [None, {"a": 1}]},
    ):
        state.write_text(json.dumps(beat))
        text = run_cli(vault_dir, "status", check=False)
        assert text.returncode == 0 and "Traceback" not in text.stderr, text.stderr
        shown = json.loads(run_cli(vault_dir, "status", "--json").stdout)
        assert shown["held_back"] == [] and shown["daemon"]["running"] is False
    # While a daemon runs (its lock held here), its errors and receivers are read too.
    from vault.lock import InstanceLock

    with InstanceLock(Layout(vault_dir).lock):
        for beat in (
            {"receivers": [1], "errors": 3, "pid": "x", "started_at": 5},
            {"receivers": {"ftp": 1, "other": {"uploads": 2}}, "errors": [None, {"a": 1}]},
        ):
            state.write_text(json.dumps(beat))
            text = run_cli(vault_dir, "status", check=False)
            assert text.returncode == 0 and "Traceback" not in text.stderr, text.stderr
            shown = json.loads(run_cli(vault_dir, "status", "--json").stdout)
            assert shown["daemon"]["running"] is True and shown["daemon"]["pid"] is None
            assert set(shown["receivers"]) <= {"other"}
