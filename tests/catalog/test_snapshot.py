"""The plain sqlite3 snapshot that fast commands read: same answers as the
engine, one moment, no writes, the same errors for a missing or damaged file."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from vault.catalog.snapshot import NotAtHead, read_snapshot
from vault.errors import CatalogDamaged, VaultError
from vault.ingest.daemon import Daemon, DaemonOptions
from vault.service import Vault


def _ingest(vault: Vault, drop: Path, *names: str) -> None:
    for name in names:
        (drop / name).write_bytes(os.urandom(20_000))
    Daemon(vault, DaemonOptions(once=True, settle_seconds=0)).run()


def test_the_snapshot_counts_what_the_catalog_holds(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "drop" / "back"
    empty.mkdir()
    vault.cameras.add("back", empty)
    side = tmp_path / "drop" / "side"
    side.mkdir()
    vault.cameras.add("side", side, pattern="%Y%m%d-%H%M%S")
    _ingest(vault, side, "20260101-120000.mp4", "no-time-here.mp4")
    _ingest(vault, camera, "a.mp4", "b.mp4", "c.mp4")
    clips = vault.clips.all(camera="front")
    vault.retention.shred(clips[0].id, "not needed")
    with read_snapshot(vault.layout.catalog) as snap:
        counts = {c.name: c for c in snap.cameras()}
        folders = snap.drop_folders()
        stored = snap.stored_bytes()
        ids = snap.clip_ids()
    assert counts["front"].clips == 2 and counts["back"].clips == 0
    assert counts["back"].last_ingest is None
    last = max(c.ingested_at for c in clips[1:])
    assert counts["front"].last_ingest is not None
    assert counts["front"].last_ingest.utcoffset() is not None
    assert abs((counts["front"].last_ingest - last).total_seconds()) < 1e-3
    engine = {c.name: c.time_from_mtime for c in vault.status.report().cameras}
    assert {n: c.time_from_mtime for n, c in counts.items()} == engine
    assert counts["side"].time_from_mtime == 1 and counts["side"].clips == 2
    assert [(name, path) for name, path, _ in folders] == [
        ("back", empty),
        ("front", camera),
        ("side", side),
    ]
    every = vault.clips.all(include_shredded=True)
    assert stored == sum(c.payload_size for c in every if c.id != clips[0].id)
    assert ids == {c.id for c in every}


def test_the_snapshot_writes_nothing(vault: Vault) -> None:
    with (
        read_snapshot(vault.layout.catalog) as snap,
        pytest.raises(sqlite3.OperationalError, match="readonly"),
    ):
        snap.connection.execute("DELETE FROM camera")


def test_a_missing_or_empty_catalog_is_the_error_opening_gives(tmp_path: Path) -> None:
    with pytest.raises(VaultError, match="missing"), read_snapshot(tmp_path / "none.db"):
        pass
    (tmp_path / "empty.db").touch()
    with pytest.raises(VaultError, match="empty"), read_snapshot(tmp_path / "empty.db"):
        pass
    assert not (tmp_path / "none.db").exists()


def test_a_damaged_catalog_is_catalog_damaged(tmp_path: Path) -> None:
    bad = tmp_path / "catalog.db"
    bad.write_bytes(b"this is not a database" * 500)
    with pytest.raises(CatalogDamaged), read_snapshot(bad):
        pass


def test_a_catalog_at_another_revision_is_not_read_here(vault: Vault) -> None:
    raw = sqlite3.connect(vault.layout.catalog)
    raw.execute("UPDATE alembic_version SET version_num = '0001'")
    raw.commit()
    raw.close()
    with pytest.raises(NotAtHead), read_snapshot(vault.layout.catalog):
        pass


def test_the_snapshot_changes_nothing_in_the_file(tmp_path: Path) -> None:
    # Not even the journal mode: a catalog in another mode stays in it.
    path = tmp_path / "catalog.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("CREATE TABLE alembic_version (version_num TEXT)")
    from vault.catalog.sqlite import HEAD_REVISION

    conn.execute("INSERT INTO alembic_version VALUES (?)", (HEAD_REVISION,))
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with read_snapshot(path):
        pass
    assert path.read_bytes() == before
    assert not (tmp_path / "catalog.db-wal").exists()
