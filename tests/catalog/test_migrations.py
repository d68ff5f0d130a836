"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from vault.catalog import models  # noqa: F401
from vault.catalog.db import HEAD_REVISION, current_revision, open_catalog


@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_migrated_schema_matches_the_models(tmp_path: Path) -> None:
    engine = open_catalog(tmp_path / "c.db")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []
    assert current_revision(engine) == HEAD_REVISION


def test_an_old_catalog_is_migrated_on_open(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    open_catalog(path, migrate=False).dispose()  # an empty, never-migrated file
    engine = open_catalog(path)
    assert current_revision(engine) == HEAD_REVISION
    names = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    assert {"clip", "camera", "audit_entry", "request", "decision", "hold"} <= names


def test_pragmas(tmp_path: Path) -> None:
    engine = open_catalog(tmp_path / "c.db")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1


def test_audit_lookups_by_their_bytes_use_the_expression_indexes(tmp_path: Path) -> None:
    """Alembic cannot compare expression indexes on SQLite, so check them here:
    the migration made them, and the log's byte lookups use them."""
    from vault.catalog.expressions import ENTRY_SUBJECT, ENTRY_TYPE

    open_catalog(tmp_path / "c.db").dispose()
    db = sqlite3.connect(tmp_path / "c.db")
    for expr, name in (
        (ENTRY_TYPE, "ix_audit_entry_entry_type"),
        (ENTRY_SUBJECT, "ix_audit_entry_entry_subject"),
    ):
        plan = db.execute(
            f"EXPLAIN QUERY PLAN SELECT idx FROM audit_entry WHERE {expr} = ?", ("x",)
        ).fetchall()
        assert any(name in str(row) for row in plan), plan
    db.close()


def test_a_catalog_at_0001_keeps_its_rows_through_head(tmp_path: Path) -> None:
    from vault.catalog.db import upgrade

    path = tmp_path / "c.db"
    engine = open_catalog(path, migrate=False)
    upgrade(engine, "0001")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(
        "INSERT INTO camera (id, name, retention_days, created_at) "
        "VALUES (1, 'front', 0, '2026-11-28 10:00:00.000000')"
    )
    db.execute("INSERT INTO camera_folder (camera_id, path) VALUES (1, '/srv/front')")
    db.execute(
        "INSERT INTO clip (id, camera_id, captured_at, ingested_at, size, sha256, payload_size, "
        "payload_sha256, header, original_name, source_path) VALUES ('clp_old', 1, "
        "'2026-11-28 10:00:00.000000', '2026-11-28 10:00:01.000000', 3, 'a', 5, 'b', x'00', "
        "'old.mp4', x'2f')"
    )
    db.close()
    upgrade(engine)
    assert current_revision(engine) == HEAD_REVISION == "0005"
    db = sqlite3.connect(path)
    assert db.execute("SELECT identity FROM camera_folder").fetchall() == [(None,)]
    assert db.execute("SELECT id, captured_from_mtime, truncated FROM clip").fetchall() == [
        ("clp_old", 0, 0)
    ]
    # 0005: an existing camera keeps releasing sound until the owner says otherwise.
    assert db.execute("SELECT name, export_audio FROM camera").fetchall() == [("front", 1)]
    db.close()
