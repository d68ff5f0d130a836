"""Opening the catalog: SQLite with WAL, foreign keys and secure_delete, migrated on open."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlmodel import create_engine

from vault.catalog.sqlite import (
    BUSY_TIMEOUT_MS,
    HEAD_REVISION,
    TRUNCATE_WAL,
    configure,
)
from vault.catalog.sqlite import mapped_error as _mapped
from vault.errors import StorageError, VaultError
from vault.fsutil import private_mode
from vault.safetext import shown

__all__ = [
    "HEAD_REVISION",
    "BUSY_TIMEOUT_MS",
    "TRUNCATE_WAL",
    "open_catalog",
    "reader",
    "truncate_wal",
    "catalog_write_error",
    "current_revision",
    "upgrade",
]

MIGRATIONS = Path(__file__).with_name("migrations")


def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    configure(dbapi_conn)


class _OnError:
    """The engine's handle_error hook: SQLite failures the user must act on
    become ringfence errors wherever a statement meets them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.doing = "cannot open"  # until open_catalog has finished

    def __call__(self, context: Any) -> None:
        mapped = _mapped(context.original_exception, self.path, self.doing)
        if mapped is not None:
            raise mapped from None


def _on_begin(conn: Any) -> None:
    # A writing transaction takes the write lock up front: the daemon and the
    # CLI write to the same file, and a deferred transaction that upgrades to a
    # writer later fails with SQLITE_BUSY instead of waiting. Readers (see
    # reader()) take a plain snapshot and never block the daemon.
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


READ_ONLY = "ringfence_read_only"


def reader(engine: Engine) -> Engine:
    """The same catalog for reading only: deferred transactions, no write lock."""
    return engine.execution_options(**{READ_ONLY: True})


def open_catalog(path: Path, *, migrate: bool = True, create: bool = True) -> Engine:
    """Open the catalog at *path* and bring its schema to head.

    With ``create=False`` a missing or empty file is an error rather than a new
    catalog: an open vault whose catalog vanished must stop, not start afresh
    and take every stored clip for an orphan.
    """
    try:
        new = not path.exists()
        if not create and (new or path.stat().st_size == 0):
            raise VaultError(
                f"the catalog {path} is {'missing' if new else 'empty'}; restore it from a "
                "backup (only `ringfence init` creates a new one)"
            )
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30})
        event.listen(engine, "connect", _on_connect)
        event.listen(engine, "begin", _on_begin)
        on_error = _OnError(path)
        event.listen(engine, "handle_error", on_error)
        if new:
            path.touch(mode=private_mode(0o600))
        if migrate:
            upgrade(engine)
        with contextlib.suppress(sqlite3.OperationalError, OperationalError):
            # Best effort: a busy catalog still opens (the next open or shred
            # truncates); a damaged one still fails below.
            truncate_wal(engine, wait_ms=2000)
    except (sqlite3.DatabaseError, DatabaseError) as exc:
        orig = getattr(exc, "orig", None) or exc
        mapped = _mapped(orig, path, "cannot open")
        if mapped is not None:
            raise mapped from None
        raise VaultError(f"cannot open the catalog {shown(path)}: {_reason(exc)}") from None
    except OSError as exc:
        raise StorageError(f"cannot open the catalog {shown(path)}: {exc.strerror}") from exc
    on_error.doing = "cannot use"
    return engine


def truncate_wal(engine: Engine, *, wait_ms: int | None = None) -> bool:
    """Copy the write-ahead log into the catalog and cut it to zero bytes.

    Old page images stay in catalog.db-wal until then, so this runs when a
    catalog is opened (a shred that was killed before its own truncation
    leaves the shredded header there) and right after a shred commits
    (vault.service.retention). Outside any transaction: the driver runs in
    autocommit. *wait_ms* bounds how long a reader of an older snapshot may
    delay it; False when a reader kept it from finishing.
    """
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if wait_ms is not None:
            cur.execute(f"PRAGMA busy_timeout={int(wait_ms)}")
        try:
            busy = cur.execute(TRUNCATE_WAL).fetchone()[0]
        finally:
            if wait_ms is not None:
                cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return not busy
    finally:
        raw.close()


#: SQLite's text for SQLITE_FULL: the disk (or the catalog's page limit) is full.
DISK_FULL = "database or disk is full"


def catalog_write_error(exc: Exception, what: str) -> Exception:
    """The error to raise for a failed catalog write: a full disk is the
    storage error (exit 10) every other full-disk write gives; anything else
    is returned as it is."""
    if DISK_FULL in _reason(exc):
        return StorageError(f"{what}: the disk is full")
    return exc


def _reason(exc: Exception) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        has = conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'"
        ).first()
        if not has:
            return None
        row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
        return row[0] if row else None


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run Alembic migrations up to *revision*; cheap when already at head."""
    if revision == "head" and current_revision(engine) == HEAD_REVISION:
        return
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
