"""One read of the catalog through the standard library's sqlite3 alone.

Commands that only look (``status``) answer in a fraction of the time it takes
to import SQLAlchemy and SQLModel, which alone cost many times the
interpreter's own start-up. They read through this snapshot: the same
connection settings as the engine (vault.catalog.sqlite), one deferred read
transaction (so every answer is from one moment, and the daemon's writes never
wait for it), and no writes at all (``query_only``). A catalog that is not at
the newest schema is not read here: the caller opens the vault the ordinary
way, which migrates it.

Reading changes nothing, so the housekeeping that opening the vault does
(truncating the write-ahead log, sweeping a killed ``key passwd``'s temporary
files) is left to the next command that opens it, or to the daemon.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from vault.catalog.sqlite import HEAD_REVISION, configure, mapped_error
from vault.errors import VaultError
from vault.safetext import shown


class NotAtHead(Exception):
    """The catalog's schema is older (or newer) than this code's: open the
    vault through the engine, which migrates or refuses it."""


@dataclass(frozen=True)
class CameraCount:
    """A camera's clips that are not shredded, from one snapshot."""

    name: str
    clips: int
    last_ingest: datetime | None
    time_from_mtime: int
    truncated: int = 0  # clips the media check found cut short


def stored_time(value: object) -> datetime | None:
    """A time as the catalog stores it (UTC, naive text), aware."""
    if value is None:
        return None
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


class CatalogSnapshot:
    """The reads of one snapshot. ``connection`` is the raw sqlite3
    connection inside that snapshot, for the audit log's own readers."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def cameras(self) -> list[CameraCount]:
        rows = self.connection.execute(
            "SELECT camera.name, count(clip.id), max(clip.ingested_at), "
            "coalesce(sum(CASE WHEN clip.captured_from_mtime THEN 1 ELSE 0 END), 0), "
            "coalesce(sum(CASE WHEN clip.truncated THEN 1 ELSE 0 END), 0) "
            "FROM camera LEFT OUTER JOIN clip "
            "ON clip.camera_id = camera.id AND clip.shredded_at IS NULL "
            "GROUP BY camera.id ORDER BY camera.name"
        ).fetchall()
        return [
            CameraCount(str(name), int(n), stored_time(last), int(mtime), int(cut))
            for name, n, last, mtime, cut in rows
        ]

    def drop_folders(self) -> list[tuple[str, Path, str | None]]:
        """Every camera's drop folders: (camera, folder, "device:inode" or None)."""
        rows = self.connection.execute(
            "SELECT camera.name, camera_folder.path, camera_folder.identity "
            "FROM camera JOIN camera_folder ON camera_folder.camera_id = camera.id "
            "ORDER BY camera.name, camera_folder.path"
        ).fetchall()
        return [(str(name), Path(path), identity) for name, path, identity in rows]

    def stored_bytes(self) -> int:
        """Bytes of sealed payloads (clips not shredded, attachments with a
        header), from the catalog: no walk over the store."""
        clips = self.connection.execute(
            "SELECT coalesce(sum(payload_size), 0) FROM clip WHERE shredded_at IS NULL"
        ).fetchone()[0]
        atts = self.connection.execute(
            "SELECT coalesce(sum(size), 0) FROM attachment WHERE header IS NOT NULL"
        ).fetchone()[0]
        return int(clips or 0) + int(atts or 0)

    def clip_ids(self) -> set[str]:
        return {str(r[0]) for r in self.connection.execute("SELECT id FROM clip")}


def _revision(conn: sqlite3.Connection) -> str | None:
    has = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'"
    ).fetchone()
    if not has:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])


@contextlib.contextmanager
def read_snapshot(path: Path) -> Iterator[CatalogSnapshot]:
    """One read transaction over the catalog at *path*.

    A missing or empty catalog is the error opening the vault gives; a
    damaged one is CatalogDamaged (exit 9); a catalog not at the newest
    schema raises NotAtHead before anything is read.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        size = -1
    except OSError as exc:
        raise VaultError(f"cannot open the catalog {shown(path)}: {exc.strerror}") from None
    if size <= 0:
        raise VaultError(
            f"the catalog {path} is {'missing' if size < 0 else 'empty'}; restore it from a "
            "backup (only `ringfence init` creates a new one)"
        )
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(path, timeout=30)
        conn.execute("PRAGMA query_only=ON")  # first: nothing below may write
        configure(conn, writing=False)
        if _revision(conn) != HEAD_REVISION:
            raise NotAtHead(str(path))
        conn.execute("BEGIN")
        try:
            yield CatalogSnapshot(conn)
        finally:
            conn.execute("ROLLBACK")
    except sqlite3.DatabaseError as exc:
        mapped = mapped_error(exc, path, "cannot read")
        if mapped is not None:
            raise mapped from None
        raise VaultError(f"cannot read the catalog {shown(path)}: {exc}") from None
    finally:
        if conn is not None:
            conn.close()
