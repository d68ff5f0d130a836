"""What the daemon must refuse to do: start on a lost catalog, delete clips it
does not know, crash on a name that only looks like a time, or quietly delete
a file that repeats a shredded clip."""

from __future__ import annotations

import logging
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import FAST_LOG_N
from tests.tools import PASSPHRASE, run_cli
from vault.errors import VaultError
from vault.fsutil import ensure_private_dir
from vault.ingest.daemon import Daemon, DaemonOptions
from vault.ingest.policy import capture_time
from vault.service import Vault


def run_once(vault: Vault) -> Daemon:
    d = Daemon(vault, DaemonOptions(once=True, settle_seconds=0))
    assert d.run() == 0
    return d


def sealed_vault(tmp_path: Path, n: int) -> tuple[Path, Path]:
    root = tmp_path / "vault"
    drop = tmp_path / "drop"
    drop.mkdir()
    v = Vault.init(root, PASSPHRASE, log_n=FAST_LOG_N)
    v.cameras.add("front", drop)
    for i in range(n):
        (drop / f"c{i}.mp4").write_bytes(os.urandom(100 + i))
    run_once(v)
    assert len(v.clips.all()) == n
    v.close()
    return root, drop


@pytest.mark.parametrize("how", ["missing", "empty"])
def test_a_lost_catalog_stops_the_vault_and_keeps_the_store(tmp_path: Path, how: str) -> None:
    root, _drop = sealed_vault(tmp_path, 3)
    blobs = sorted(p for p in (root / "store").rglob("clp_*"))
    assert len(blobs) == 3
    catalog = root / "catalog.db"
    for extra in ("-wal", "-shm"):
        catalog.with_name("catalog.db" + extra).unlink(missing_ok=True)
    if how == "missing":
        catalog.unlink()
    else:
        catalog.write_bytes(b"")
    with pytest.raises(VaultError, match=f"catalog .* is {how}"):
        Vault.open(root)
    result = run_cli(root, "daemon", "--once", check=False)
    assert result.returncode == VaultError.exit_code
    assert f"is {how}" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p for p in (root / "store").rglob("clp_*")) == blobs
    assert (how == "missing") == (not catalog.exists())


def test_a_catalog_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    root, _drop = sealed_vault(tmp_path, 1)
    for extra in ("-wal", "-shm"):
        (root / f"catalog.db{extra}").unlink(missing_ok=True)
    (root / "catalog.db").write_bytes(b"this is not SQLite" * 100)
    result = run_cli(root, "clips", "list", check=False)
    assert result.returncode == VaultError.exit_code
    assert "cannot open the catalog" in result.stderr and "Traceback" not in result.stderr


def _stored(v: Vault, blob_id: str, *, intent: int | None) -> None:
    """A payload in the store, as a sealing that never committed leaves it
    (with an intent naming the log's size) or without an intent."""
    import json

    if intent is not None:
        v.store.write_intent(blob_id, json.dumps({"log_size": intent}).encode())
    with v.store.writer(blob_id) as w:
        w.write(os.urandom(300))
        w.commit()


def test_recovery_deletes_only_an_uncommitted_sealing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import sqlite3

    root, _drop = sealed_vault(tmp_path, 3)
    v = Vault.open(root)
    try:
        ids = [c.id for c in v.clips.all()]
        size = v.audit.size()
        _stored(v, "clp_uncommitted00000", intent=size)
        _stored(v, "clp_nointent00000000", intent=None)
        # A clip row deleted behind the daemon's back: the log knows the clip.
        db = sqlite3.connect(root / "catalog.db", isolation_level=None)
        db.execute("DELETE FROM clip WHERE id = ?", (ids[0],))
        db.close()
        with caplog.at_level(logging.WARNING, logger="ringfence.daemon"):
            Daemon(v, DaemonOptions(once=True)).recover()
        assert not v.store.exists("clp_uncommitted00000")
        assert v.store.intents() == {}
        assert v.store.exists("clp_nointent00000000")
        assert all(v.store.exists(i) for i in ids)
        assert "lost the rows of 1 clip(s)" in caplog.text and ids[0] in caplog.text
        assert "clp_nointent00000000" in caplog.text
    finally:
        v.close()


@pytest.mark.parametrize(
    "name",
    [
        "0001-01-01_00-00-00.mp4",
        "9999-12-31_23-59-59.mp4",
        "1969-07-20_20-17-00.mp4",
    ],
)
def test_a_name_with_an_unbelievable_time_falls_back_to_mtime(name: str) -> None:
    mtime = datetime(2026, 11, 28, 12, 0, tzinfo=UTC).timestamp()
    got = capture_time(name, "%Y-%m-%d_%H-%M-%S", mtime)
    assert got == datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_an_mtime_no_calendar_holds_gives_the_time_of_sealing() -> None:
    before = datetime.now(UTC)
    got = capture_time("x.mp4", None, 1e18)
    assert before <= got <= datetime.now(UTC)


def test_the_daemon_seals_files_with_odd_times(tmp_path: Path) -> None:
    root = tmp_path / "vault"
    drop = tmp_path / "drop"
    drop.mkdir()
    v = Vault.init(root, PASSPHRASE, log_n=FAST_LOG_N)
    try:
        v.cameras.add("front", drop, pattern="%Y-%m-%d_%H-%M-%S")
        for i, name in enumerate(
            ["0001-01-01_00-00-00.mp4", "9999-12-31_23-59-59.mp4", "2026-11-28_10-00-00.mp4"]
        ):
            (drop / name).write_bytes(os.urandom(50 + i))
        d = run_once(v)
        assert d.stats.sealed == 3 and d.stats.errors == []
        assert list(drop.iterdir()) == []
    finally:
        v.close()


def test_the_bytes_of_a_shredded_clip_are_left_alone_and_said_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "vault"
    drop = tmp_path / "drop"
    drop.mkdir()
    v = Vault.init(root, PASSPHRASE, log_n=FAST_LOG_N)
    try:
        v.cameras.add("front", drop)
        data = os.urandom(5000)
        (drop / "a.mp4").write_bytes(data)
        run_once(v)
        [clip] = v.clips.all()
        v.retention.shred(clip.id, "not needed")
        (drop / "again.mp4").write_bytes(data)  # the camera uploads it once more
        with caplog.at_level(logging.WARNING, logger="ringfence.daemon"):
            d = Daemon(v, DaemonOptions(once=True, settle_seconds=0))
            assert d.run() == 0
            d.rescan()
            d.rescan()
        assert (drop / "again.mp4").read_bytes() == data
        assert caplog.text.count("which was shredded") == 1
        assert d.stats.errors and clip.id in d.stats.errors[-1]
        assert list(v.store.ids()) == []  # the second sealing's blob was removed
        assert v.clips.all() == []  # no second clip of the shredded footage
    finally:
        v.close()


def test_private_folders_are_private_all_the_way_down(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        ensure_private_dir(tmp_path / "a" / "b" / "c")
    finally:
        os.umask(old)
    for p in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"):
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o700, p


def test_clips_verify_compares_rows_with_the_audit_log(tmp_path: Path) -> None:
    import sqlite3

    root, _drop = sealed_vault(tmp_path, 3)
    v = Vault.open(root)
    try:
        check = v.clips.verify()
        assert (check.checked, check.problems, check.notes) == (3, [], [])
        a, b, c = (clip.id for clip in v.clips.all())
        db = sqlite3.connect(root / "catalog.db", isolation_level=None)
        db.execute("UPDATE clip SET sha256 = ? WHERE id = ?", ("0" * 64, a))
        db.execute(
            "UPDATE clip SET id = 'clp_planted00000000', captured_at = captured_at WHERE id = ?",
            (b,),
        )
        db.close()
        check = v.clips.verify()
        found: dict[str, list[str]] = {}
        for p in check.problems:
            found.setdefault(p.clip_id, []).append(p.problem)
        assert found[a] == ["the catalog row differs from its clip.sealed audit entry in: sha256"]
        assert found["clp_planted00000000"] == [
            "no clip.sealed entry in the audit log",
            "payload missing from the store",
        ]
        assert found[b] == [
            "the audit log recorded its sealing, but its catalog row is gone "
            "(its payload is still in the store)"
        ]
        assert c not in found and check.checked == 3
    finally:
        v.close()
