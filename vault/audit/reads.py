"""Reads of the log's rows on a plain sqlite3 connection, inside the caller's snapshot.

The one place besides :class:`vault.audit.log.AuditLog` where SQL meets
``audit_entry``: these need no SQLAlchemy, so commands that must start fast
(``status``) use them on a :mod:`vault.catalog.snapshot`, and AuditLog uses
them on its engine's own connection. They report; they never decide whether
something may leave or be shredded (those checks match the entries' bytes,
``AuditLog.about``), since the ``type`` column they filter on is not hashed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence


def log_size(conn: sqlite3.Connection) -> int:
    """The number of entries, as *conn*'s snapshot sees them."""
    row = conn.execute("SELECT MAX(idx) FROM audit_entry").fetchone()
    return 0 if row is None or row[0] is None else int(row[0]) + 1


def entries_of_types(conn: sqlite3.Connection, types: Sequence[str]) -> list[bytes]:
    """The bytes of every entry whose ``type`` column is one of *types*, in
    log order; unparsed, so one malformed entry hides no other."""
    marks = ", ".join("?" * len(types))  # placeholders only: the types are bound
    sql = f"SELECT entry FROM audit_entry WHERE type IN ({marks}) ORDER BY idx"  # noqa: S608
    return [bytes(data) for (data,) in conn.execute(sql, tuple(types))]
