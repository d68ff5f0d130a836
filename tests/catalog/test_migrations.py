"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from vault.catalog import models  # noqa: F401
from vault.catalog.db import HEAD_REVISION, current_revision, open_catalog


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
