"""An export killed half way: its plaintext does not linger, and the log says so.

A real process runs an export and is killed with SIGKILL after the first clip
is written. What it leaves (a staging folder with plaintext) was logged before
it was written, and the next export, or the daemon's start, removes it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.requests.test_service import REQ, ingest
from tests.tools import PASSPHRASE
from vault.ingest.daemon import Daemon, DaemonOptions
from vault.service import Vault

KILLER = """
import os, signal, sys
from pathlib import Path
from vault.service import Vault

vault = Vault.open(Path(sys.argv[1]))
vault.unlock(os.environ["PASSPHRASE"])

def progress(done, total, clip_id):
    os.kill(os.getpid(), signal.SIGKILL)  # after the first clip is on disk

vault.releases.export(sys.argv[2], Path(sys.argv[3]), progress=progress)
"""


def killed_export(vault: Vault, rid: str, out: Path) -> None:
    env = dict(os.environ, PASSPHRASE=PASSPHRASE)
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, str(vault.root), rid, str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr


def approved(vault: Vault, camera: Path, clips: int) -> str:
    """A request for every clip, approved: ready to export."""
    ingest(vault, camera, clips)
    rid = vault.requests.add(REQ)
    vault.requests.decide(rid, approve=True, reason="ok")
    return rid


def partials(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.partial"))


def types(vault: Vault) -> list[str]:
    return [e["type"] for _i, e in vault.audit.entries()]


def test_a_killed_export_is_logged_and_swept(vault: Vault, camera: Path, tmp_path: Path) -> None:
    ingest(vault, camera, 3)
    rid = vault.requests.add(REQ)
    vault.requests.decide(rid, approve=True, reason="warrant seen")
    exports = tmp_path / "exports"
    exports.mkdir()
    killed_export(vault, rid, exports / "first")

    [left] = partials(exports)
    assert [p.name for p in left.rglob("*.mp4")] != []  # plaintext of the first clip
    assert not (exports / "first").exists()
    started = [e for _i, e in vault.audit.entries() if e["type"] == "export.started"]
    assert len(started) == 1 and started[0]["details"]["folder"] == str(left)
    assert sorted(started[0]["details"]["clips"]) == sorted(
        c.id for c in vault.requests.scope_clips(rid)
    )
    assert "export.created" not in types(vault)

    result = vault.releases.export(rid, exports / "second")  # sweeps first, then exports
    assert partials(exports) == []
    abandoned = [e for _i, e in vault.audit.entries() if e["type"] == "export.abandoned"]
    assert [e["subject"] for e in abandoned] == [started[0]["subject"]]
    assert "removed" in abandoned[0]["details"]["why"]
    assert len(list((exports / "second").rglob("*.mp4"))) == 3
    assert result.receipt["export"]["id"] != started[0]["subject"]
    assert vault.audit.verify(vault.verifier_keys()).ok
    assert list((vault.root / "exports").iterdir()) == []


def test_the_daemon_sweeps_at_start_and_leaves_a_running_export(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    from vault.service.release import InFlight

    ingest(vault, camera, 2)
    rid = vault.requests.add(REQ)
    vault.requests.decide(rid, approve=True, reason="ok")
    killed_export(vault, rid, tmp_path / "out")
    [left] = partials(tmp_path)
    # An export that is running now (its marker is locked) must not be touched.
    running = tmp_path / ".busy.0123abcd.partial"
    running.mkdir()
    with InFlight(vault.root, "exp_running", running):
        Daemon(vault, DaemonOptions(once=True, settle_seconds=0)).run()
        assert not left.exists()
        assert running.exists()
    assert InFlight.abandoned(vault.root) == []
    assert types(vault).count("export.abandoned") == 1


def test_a_running_daemon_sweeps_an_export_killed_meanwhile(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    import subprocess
    import time

    from tests.tools import cli_env

    rid = approved(vault, camera, 2)
    daemon = subprocess.Popen(
        [sys.executable, "-m", "vault", "daemon", "--rescan", "0.5"],
        env=cli_env(vault.root),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        from vault.lock import read_heartbeat

        # Wait for this daemon's own heartbeat (an earlier --once left a
        # daemon.json): it is watching, past its start-up sweep.
        deadline = time.monotonic() + 180
        while (
            read_heartbeat(vault.root / "daemon.json").get("pid") != daemon.pid
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        assert read_heartbeat(vault.root / "daemon.json").get("pid") == daemon.pid
        killed_export(vault, rid, tmp_path / "out")
        deadline = time.monotonic() + 180
        while partials(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert partials(tmp_path) == [], "the running daemon left the plaintext in place"
    finally:
        daemon.terminate()
        assert daemon.wait(timeout=30) == 0
    assert types(vault).count("export.abandoned") == 1


def test_a_folder_in_the_markers_place_stops_nothing(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    rid = approved(vault, camera, 1)
    (vault.root / "exports" / "stray").mkdir(parents=True)
    vault.releases.export(rid, tmp_path / "out")
    Daemon(vault, DaemonOptions(once=True, settle_seconds=0)).run()
    assert (vault.root / "exports" / "stray").is_dir()


def test_exports_are_refused_where_they_would_be_kept_or_swallowed(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    from vault.errors import UsageError

    rid = approved(vault, camera, 1)
    first = tmp_path / "first"
    vault.releases.export(rid, first)
    for out, what in (
        (vault.root / "plain", "the vault folder"),
        (vault.root / "exports" / "x", "the vault folder"),
        (camera / "handover", "the drop folder of camera front"),
        (first / "inner", "the folder of export"),
    ):
        with pytest.raises(UsageError, match=what):
            vault.releases.export(rid, out)
        assert not out.exists()
    # Once the earlier export was handed over and deleted, its folder is free.
    import shutil

    shutil.rmtree(first)
    vault.releases.export(rid, first)
    assert (first / "receipt.json").exists()
    # A path through a link that loops onto itself is a clear error, not a crash.
    from vault.errors import RingfenceError

    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(RingfenceError, match="loop"):
        vault.releases.export(rid, loop / "x")
    refused = vault.requests.add(REQ)
    vault.unlock(PASSPHRASE)
    vault.requests.decide(refused, approve=False, reason="no")
    with pytest.raises(UsageError, match="drop folder"):
        vault.releases.write_decision_receipt(refused, camera / "receipt")
