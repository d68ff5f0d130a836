"""The catalog's SQLite settings and error mapping, with the standard library only.

Both ways of opening the catalog share them: the SQLAlchemy engine
(vault.catalog.db) and the plain read snapshot (vault.catalog.snapshot) that
commands which must start fast use.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from vault.errors import CatalogDamaged, StorageError
from vault.safetext import shown

#: The newest migration; a catalog at another revision is migrated on open.
HEAD_REVISION = "0005"
BUSY_TIMEOUT_MS = 30000
#: SQLite's primary result codes for a damaged file and a full disk.
SQLITE_CORRUPT, SQLITE_FULL, SQLITE_NOTADB = 11, 13, 26
TRUNCATE_WAL = "PRAGMA wal_checkpoint(TRUNCATE)"


def configure(conn: sqlite3.Connection, *, writing: bool = True) -> None:
    """The settings every connection to the catalog runs with. A reading
    connection (``writing=False``) leaves the journal mode as it is: setting
    it is a write."""
    # pysqlite's own transaction handling would defer BEGIN and break
    # BEGIN IMMEDIATE; transactions are begun explicitly.
    conn.isolation_level = None
    cur = conn.cursor()
    if writing:
        cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    # Deleted content (a clip's age header) is overwritten with zeros, not
    # left in free pages: this is what makes shredding real.
    cur.execute("PRAGMA secure_delete=ON")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.close()


def mapped_error(exc: BaseException, path: Path, doing: str = "cannot use") -> Exception | None:
    """The ringfence error for a SQLite failure the user must act on, if it is one.

    A damaged catalog ("database disk image is malformed", "file is not a
    database") is a VaultError (exit 9) that says what to do, not a traceback;
    a full disk is the StorageError (exit 10) every other full write raises.
    """
    if not isinstance(exc, sqlite3.DatabaseError):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc)
    if primary in (SQLITE_CORRUPT, SQLITE_NOTADB) or "malformed" in text:
        return CatalogDamaged(
            f"{doing} the catalog {shown(path)}: it is damaged ({text}); stop the daemon and "
            "restore it from a backup (docs/daemon.md)"
        )
    if primary == SQLITE_FULL:
        return StorageError(f"{doing} the catalog {shown(path)}: the disk is full")
    return None
