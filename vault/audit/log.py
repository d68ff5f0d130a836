"""The persistent audit log: an append-only Merkle log in the SQLite catalog.

Tables (vault.catalog.models): ``audit_entry`` holds each entry's canonical JSON
(exactly the leaf data) and its leaf hash; ``audit_node`` caches the hash of
every *complete* perfect aligned subtree of two or more leaves, node ``(level,
pos)`` covering leaves ``[pos * 2**level, (pos + 1) * 2**level)``; level 0 is
``audit_entry.leaf_hash`` and is not repeated there. ``checkpoint`` keeps every
signed checkpoint note. Appending a leaf writes the entry and the nodes it
completes (one on average), and any root or proof then reads O(log n) nodes.

The caches are for speed only. :meth:`AuditLog.verify` recomputes everything
from the entry bytes and checks the caches and every stored checkpoint against
the recomputation.

Writes go through a SQLAlchemy connection in a transaction that holds SQLite's
write lock from its first statement (vault.catalog.db begins every
transaction IMMEDIATE), so the daemon and the CLI never pick the same index;
``idx`` being the primary key turns any slip into an error, never a fork.
Reads use a plain deferred read transaction: under WAL they see one snapshot
and never block a writer, which matters for a verify that reads a million rows.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from vault.audit import merkle, reads
from vault.audit.auditor import COPY_NAME, EntryRun, LogAuditor, LogProblem, check_entry_rows
from vault.audit.events import EVENTS, EventRegistry, check_event
from vault.audit.note import (
    Checkpoint as CheckpointBody,
)
from vault.audit.note import (
    NoteSigner,
    VerifierKey,
    note_signers,
    open_checkpoint,
    parse_checkpoint,
    parse_verifier_key,
    sign_note,
    split_note,
)
from vault.audit.proof import format_inclusion_proof
from vault.audit.workers import SPAN, Workers
from vault.canonical import canonical_json, parse_canonical
from vault.catalog.expressions import ENTRY_SUBJECT, ENTRY_TYPE
from vault.errors import IntegrityError, NotFound, StorageError
from vault.fsutil import ensure_private_dir, read_regular, write_atomic
from vault.jsonout import json_name
from vault.timeutil import utc_now

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from vault.catalog.models import Checkpoint

#: Entries checked per task when verifying; a power of two keeps spans aligned.
CHUNK = 1 << 16
#: Below this many entries, verification runs in this process only.
PARALLEL_FROM = 200_000
#: The most a kept checkpoint note (the copy, the owner's head) may be.
MAX_NOTE = 64 * 1024

_INSERT_ENTRY = "INSERT INTO audit_entry (idx, at, type, entry, leaf_hash) VALUES (?, ?, ?, ?, ?)"
_INSERT_NODE = "INSERT INTO audit_node (level, pos, hash) VALUES (?, ?, ?)"
_LAST_ENTRY = "SELECT idx, at FROM audit_entry ORDER BY idx DESC LIMIT 1"
_LEAF = "SELECT leaf_hash FROM audit_entry WHERE idx = ?"
_NODE = "SELECT hash FROM audit_node WHERE level = ? AND pos = ?"
_LATEST_CHECKPOINT = (
    "SELECT id, size, root, note, created_at FROM checkpoint ORDER BY id DESC LIMIT 1"
)
_ALL_CHECKPOINTS = "SELECT id, size, root, note, created_at FROM checkpoint ORDER BY id"


def format_time(dt: datetime) -> str:
    """RFC 3339 UTC with microseconds, e.g. 2026-11-28T15:20:00.123456Z (sorts as text)."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of :meth:`AuditLog.verify`.

    ``first_bad_index`` is the first entry that is missing, altered or out of
    place; for a cached node it is the first entry under that node, and for a
    checkpoint whose root disagrees it is the first entry the earlier verified
    checkpoints do not vouch for. A checkpoint that is itself broken (bad
    signature, edited text) is named by ``bad_checkpoint`` (its id).
    """

    ok: bool
    first_bad_index: int | None
    reason: str
    size: int
    checkpoints_checked: int = field(metadata=json_name("checkpoints"))
    bad_checkpoint: int | None = None

    def __bool__(self) -> bool:
        return self.ok


def _row_to_checkpoint(row: Sequence[Any]) -> Checkpoint:
    from vault.catalog.models import Checkpoint  # SQLModel is slow to import: not in workers

    return Checkpoint(id=row[0], size=row[1], root=bytes(row[2]), note=row[3], created_at=row[4])


class _Nodes:
    """Reads stored subtree hashes through one DBAPI or SQLAlchemy connection."""

    def __init__(self, execute: Callable[[str, tuple[Any, ...]], Any]) -> None:
        self._execute = execute

    def get(self, level: int, pos: int) -> bytes:
        if level == 0:
            row = self._execute(_LEAF, (pos,)).fetchone()
        else:
            row = self._execute(_NODE, (level, pos)).fetchone()
        if row is None:
            raise IntegrityError(
                f"audit log: cached node ({level}, {pos}) is missing; run the audit verification"
            )
        return bytes(row[0])


def _driver(conn: Connection) -> sqlite3.Connection:
    """The sqlite3 connection under *conn*, inside *conn*'s transaction."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    return raw


class AuditLog:
    """The vault's tamper-evident log of everything that happened to it."""

    def __init__(
        self,
        engine: Engine,
        origin: str,
        clock: Callable[[], datetime] = utc_now,
        *,
        copy_path: Path | None = None,
        head_path: Path | None = None,
        head_key: str | None = None,
        head_paths: Sequence[Path] = (),
        events: EventRegistry | None = EVENTS,
    ) -> None:
        """*copy_path*: where a copy of the latest signed checkpoint is kept,
        outside the catalog (see :meth:`checkpoint` and :meth:`verify`).

        *head_path*: where the newest checkpoint signed by *head_key* (the
        owner's verifier key) is kept outside the vault folder, in the owner's
        own configuration folder. Whoever can write the vault's files can cut
        the log and its copy back together; they cannot reach this file in a
        two-user deployment, and cannot sign a newer one without the owner.
        *head_paths*: more places for the same head (one named by the vault's
        folder, so that an identity changed in config.toml cannot lead the
        check to a head that does not exist).
        """
        CheckpointBody(origin, 0, merkle.EMPTY_ROOT)  # validates the origin line
        self.engine = engine
        self.origin = origin
        self.clock = clock
        self.copy_path = copy_path
        self.head_paths = (
            [p for p in (head_path, *head_paths) if p is not None] if head_key is not None else []
        )
        self.head_key = head_key
        self.events = events

    # --- the checkpoint copy beside the catalog --------------------------------

    def read_copy(self) -> str | None:
        """The kept copy of the latest checkpoint note, or None if there is none."""
        return _read_note(self.copy_path)

    def _heads(self) -> list[tuple[Path, str]]:
        """The owner's heads found here: ``(path, note)`` for each of ``head_paths``.

        A head this process may not read (the daemon's own user, in a two-user
        deployment) counts as none: only the owner's processes check it.
        """
        found = []
        for path in self.head_paths:
            try:
                note = _read_note(path)
            except StorageError:
                if not os.access(path, os.R_OK):
                    continue
                raise
            if note is not None:
                found.append((path, note))
        return found

    def _head_bodies(self) -> list[tuple[Path, str, CheckpointBody]]:
        """Every head found, checked: the owner's signature, this log's origin."""
        assert self.head_key is not None or not self.head_paths
        out = []
        for path, note in self._heads():
            try:
                body, _ = open_checkpoint(note, [self.head_key or ""])
            except IntegrityError as exc:
                raise IntegrityError(
                    f"the owner's newest checkpoint in {path}: "
                    f"{exc.message} (was the vault's configuration "
                    "changed?)"
                ) from None
            if body.origin != self.origin:
                raise IntegrityError(
                    f"{path} holds a checkpoint of another log "
                    f"({body.origin!r}): was the vault's configuration "
                    "changed, or is this a new vault in the same folder?"
                )
            out.append((path, note, body))
        return out

    def _keep_head(self, note: str) -> None:
        """Keep *note* as the owner's head if the owner signed it and it is newer."""
        if not self.head_paths or self.head_key is None:
            return
        try:
            body, _ = open_checkpoint(note, [self.head_key])
        except IntegrityError:
            return  # not signed by the owner: the device's alone
        current = {path: b.size for path, _n, b in self._head_bodies()}
        for path in self.head_paths:
            if current.get(path, -1) >= body.size:
                continue
            try:
                ensure_private_dir(path.parent, share=False)
            except OSError as exc:
                raise StorageError(f"cannot create {path.parent}: {exc.strerror}") from None
            write_atomic(path, note.encode("utf-8"), share=False)

    def _copy_size(self) -> int:
        """The size in the kept copy's note text (its signatures are not checked)."""
        note = self.read_copy()
        if note is None:
            return -1
        try:
            return parse_checkpoint(split_note(note)[0]).size
        except IntegrityError:
            return -1

    def _keep_copy(self, note: str, size: int) -> None:
        """Keep *note* as the copy unless the copy already covers more.

        Written after the checkpoint commits, so the copy is always a note the
        catalog holds too; two processes racing can leave an older copy, never
        a missing or foreign one.
        """
        if self.copy_path is None or self._copy_size() > size:
            return
        write_atomic(self.copy_path, note.encode("utf-8"))

    def _check_copy(self, size: int, nodes: _Nodes) -> None:
        """Refuse to sign a tree that does not extend the kept copy or the owner's head."""
        for path, _note, head in self._head_bodies():
            if head.size > size or merkle.root(head.size, nodes.get) != head.root:
                raise IntegrityError(
                    f"audit log: the log no longer extends the newest checkpoint the owner "
                    f"signed (size {head.size}, kept in {path}): it was cut back or rewritten; "
                    "refusing to sign (run the audit verification)"
                )
        note = self.read_copy()
        if note is None:
            return
        try:
            body = parse_checkpoint(split_note(note)[0])
        except IntegrityError as exc:
            raise IntegrityError(
                f"{self.copy_path}: {exc.message}; refusing to sign (run the audit verification)"
            ) from None
        if (
            body.origin != self.origin
            or body.size > size
            or (merkle.root(body.size, nodes.get) != body.root)
        ):
            raise IntegrityError(
                f"audit log: the log no longer extends the checkpoint of size {body.size} kept "
                f"in {COPY_NAME}; refusing to sign "
                "(run the audit verification)"
            )

    # --- connections ---------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Any]:
        """A DBAPI connection inside a deferred read transaction (one snapshot)."""
        raw = self.engine.raw_connection()
        try:
            dbapi = raw.driver_connection
            began = not getattr(dbapi, "in_transaction", False)
            if began:
                raw.cursor().execute("BEGIN")
            try:
                yield raw
            finally:
                if began:
                    raw.cursor().execute("ROLLBACK")
        finally:
            raw.close()

    @staticmethod
    def _dbapi_nodes(raw: Any) -> _Nodes:
        cur = raw.cursor()
        return _Nodes(lambda sql, params: cur.execute(sql, params))

    @staticmethod
    def _conn_nodes(conn: Connection) -> _Nodes:
        return _Nodes(lambda sql, params: conn.exec_driver_sql(sql, params))

    @staticmethod
    def _size(cur: Any) -> int:
        row = cur.execute("SELECT MAX(idx) FROM audit_entry").fetchone()
        return 0 if row is None or row[0] is None else int(row[0]) + 1

    # --- writing -------------------------------------------------------------

    def _entry_bytes(
        self,
        index: int,
        time: str,
        type: str,
        actor: str,
        subject: str | None,
        details: dict[str, Any] | None,
    ) -> bytes:
        if not isinstance(type, str) or not type:
            raise ValueError("audit entry: the type must be a non-empty string")
        if not isinstance(actor, str) or not actor:
            raise ValueError("audit entry: the actor must be a non-empty string")
        if subject is not None and not isinstance(subject, str):
            raise ValueError("audit entry: the subject must be a string or None")
        if details is not None and not isinstance(details, dict):
            raise ValueError("audit entry: details must be a dict")
        if self.events is not None:
            check_event(self.events, type, details)
        return canonical_json(
            {
                "index": index,
                "time": time,
                "type": type,
                "actor": actor,
                "subject": subject,
                "details": details or {},
            }
        )

    def _tail(self, conn: Connection) -> tuple[int, str]:
        row = conn.exec_driver_sql(_LAST_ENTRY).first()
        if row is None:
            return 0, ""
        return int(row[0]) + 1, str(row[1])

    def _now(self, last: str) -> str:
        # Entry times never go backwards, even if the wall clock does (NTP):
        # verify checks that they are non-decreasing.
        return max(format_time(self.clock()), last)

    def append(
        self,
        type: str,
        *,
        actor: str,
        subject: str | None = None,
        details: dict[str, Any] | None = None,
        conn: Connection | None = None,
    ) -> int:
        """Log one event; return its index.

        With *conn* (a connection inside the caller's open transaction) the
        entry commits or rolls back together with the caller's own change.
        """
        if conn is None:
            with self.engine.begin() as own:
                return self._append(own, type, actor, subject, details)
        return self._append(conn, type, actor, subject, details)

    def _append(
        self,
        conn: Connection,
        type: str,
        actor: str,
        subject: str | None,
        details: dict[str, Any] | None,
    ) -> int:
        index, last = self._tail(conn)
        at = self._now(last)
        body = self._entry_bytes(index, at, type, actor, subject, details)
        leaf = merkle.leaf_hash(body)
        nodes = merkle.nodes_to_add(index, leaf, self._conn_nodes(conn).get)
        self._insert(
            conn, [(index, at, type, body, leaf)], [(lv, pos, h) for lv, pos, h in nodes[1:]]
        )
        return index

    @staticmethod
    def _insert(
        conn: Connection,
        entries: list[tuple[int, str, str, bytes, bytes]],
        nodes: list[tuple[int, int, bytes]],
    ) -> None:
        from sqlalchemy.exc import IntegrityError as RowConflict

        try:
            conn.exec_driver_sql(_INSERT_ENTRY, entries)
            if nodes:
                conn.exec_driver_sql(_INSERT_NODE, nodes)
        except RowConflict:
            # Only a log whose tables were edited behind our back gets here.
            raise IntegrityError(
                f"audit log: a row for entry {entries[0][0]} or one of its "
                "nodes already exists; run the audit verification"
            ) from None

    def append_many(
        self, events: Sequence[tuple[str, dict[str, Any]]], conn: Connection | None = None
    ) -> list[int]:
        """Log many events in one transaction. Each event is ``(type, fields)``
        where *fields* holds :meth:`append`'s keywords (actor, subject, details)."""
        if conn is None:
            with self.engine.begin() as own:
                return self._append_many(own, events)
        return self._append_many(conn, events)

    def _append_many(
        self, conn: Connection, events: Sequence[tuple[str, dict[str, Any]]]
    ) -> list[int]:
        if not events:
            return []
        start, last = self._tail(conn)
        frontier = merkle.CompactRange.load(start, self._conn_nodes(conn).get)
        entry_rows: list[tuple[int, str, str, bytes, bytes]] = []
        node_rows: list[tuple[int, int, bytes]] = []
        for offset, (type, fields) in enumerate(events):
            unknown = set(fields) - {"actor", "subject", "details"}
            if unknown:
                raise ValueError(f"audit entry: unknown field(s) {sorted(unknown)}")
            index = start + offset
            at = last = self._now(last)
            body = self._entry_bytes(
                index,
                at,
                type,
                fields.get("actor", ""),
                fields.get("subject"),
                fields.get("details"),
            )
            leaf = merkle.leaf_hash(body)
            entry_rows.append((index, at, type, body, leaf))
            node_rows.extend(frontier.append(leaf)[1:])
        self._insert(conn, entry_rows, node_rows)
        return [row[0] for row in entry_rows]

    def checkpoint(self, signers: Sequence[NoteSigner]) -> str | None:
        """Sign the log's current size and root; store and return the note.

        Returns None when the latest checkpoint already covers this exact tree
        and was signed by every one of *signers* (a re-sign would add nothing).
        Refuses (IntegrityError) to sign a tree that does not extend the latest
        checkpoint, or the copy kept beside the catalog: a log must never sign
        two inconsistent checkpoints.
        """
        if not signers:
            raise ValueError("a checkpoint needs at least one signer")
        with self.engine.begin() as conn:
            nodes = self._conn_nodes(conn)
            size, _ = self._tail(conn)
            head = merkle.root(size, nodes.get)
            self._check_copy(size, nodes)
            row = conn.exec_driver_sql(_LATEST_CHECKPOINT).first()
            latest = None if row is None else _row_to_checkpoint(row)
            if latest is not None:
                if latest.size > size:
                    raise IntegrityError(
                        f"audit log: {size} entries but the last checkpoint covers "
                        f"{latest.size}; refusing to sign a shorter log"
                    )
                if merkle.root(latest.size, nodes.get) != latest.root:
                    raise IntegrityError(
                        f"audit log: the first {latest.size} entries no longer match checkpoint "
                        f"#{latest.id}; refusing to sign (run the audit verification)"
                    )
                if (
                    latest.size == size
                    and latest.root == head
                    and ({(s.name, s.key_id) for s in signers} <= set(note_signers(latest.note)))
                ):
                    if self.copy_path is not None and self.read_copy() is None:
                        self._keep_copy(latest.note, latest.size)  # a vault from before copies
                    self._keep_head(latest.note)
                    return None
            note = sign_note(CheckpointBody(self.origin, size, head).body(), signers)
            conn.exec_driver_sql(
                "INSERT INTO checkpoint (size, root, note, created_at) VALUES (?, ?, ?, ?)",
                (size, head, note, format_time(self.clock())),
            )
        self._keep_copy(note, size)
        self._keep_head(note)
        return note

    # --- reading -------------------------------------------------------------

    def size(self) -> int:
        with self._read() as raw:
            return self._size(raw.cursor())

    def root(self, size: int | None = None) -> bytes:
        with self._read() as raw:
            current = self._size(raw.cursor())
            size = current if size is None else size
            if not 0 <= size <= current:
                raise NotFound(f"the audit log has {current} entries, not {size}")
            return merkle.root(size, self._dbapi_nodes(raw).get)

    def entry(self, index: int) -> bytes:
        """The exact bytes of entry *index* (its leaf data)."""
        with self._read() as raw:
            row = (
                raw.cursor()
                .execute("SELECT entry FROM audit_entry WHERE idx = ?", (index,))
                .fetchone()
            )
        if row is None:
            raise NotFound(f"no audit entry {index}")
        return bytes(row[0])

    def entries(
        self, since: int = 0, limit: int | None = None, page: int = 1000
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """Entries from index *since* on, parsed. Reads in pages so that no
        transaction stays open while the caller works through them."""
        remaining = limit
        nxt = since
        while remaining is None or remaining > 0:
            want = page if remaining is None else min(page, remaining)
            with self._read() as raw:
                rows = (
                    raw.cursor()
                    .execute(
                        "SELECT idx, entry FROM audit_entry WHERE idx >= ? ORDER BY idx LIMIT ?",
                        (nxt, want),
                    )
                    .fetchall()
                )
            if not rows:
                return
            for idx, data in rows:
                yield int(idx), parse_canonical(bytes(data))
            nxt = int(rows[-1][0]) + 1
            if remaining is not None:
                remaining -= len(rows)

    def size_on(self, conn: Connection) -> int:
        """The log's size as *conn* (the caller's snapshot) sees it."""
        return reads.log_size(_driver(conn))

    def raw_of_types(self, types: Sequence[str], conn: Connection) -> list[bytes]:
        """The bytes of every entry whose ``type`` column is one of *types*, in
        log order, on *conn*; unparsed, so one malformed entry hides no other
        (for reports such as ``clips verify``, never for a check that allows)."""
        return reads.entries_of_types(_driver(conn), types)

    def about(
        self,
        *,
        subject: str | None = None,
        types: Sequence[str] = (),
        conn: Connection | None = None,
        complete: bool = False,
        since: int = 0,
    ) -> list[tuple[int, dict[str, Any]]]:
        """Entries about *subject* (and/or of one of *types*), parsed, in log order.

        Found by the entry bytes themselves (what the Merkle tree hashes), never
        by the ``type`` column: a column renamed behind the log's back hides
        nothing, and the entries' bytes cannot change without the log failing
        against a checkpoint the owner signed. Expression indexes make the
        search fast; dropping them only makes it slow. Every hit is parsed and
        matched exactly.

        An index is a shortcut someone with the file can bend (a b-tree edited,
        or rebuilt partial under its old definition), so it may hide an entry but
        never invent one: every hit is read from the table and matched. Where
        finding nothing would *allow* something (no withdrawal, no later
        decision, no hold), pass *complete*: the table itself is scanned, from
        entry *since* on, and no index is consulted.
        """
        if subject is None and not types:
            raise ValueError("about() needs a subject or types")
        sql = _ABOUT_TABLE if complete else _ABOUT
        params: list[Any] = [since]
        if subject is not None:
            sql += f" AND {ENTRY_SUBJECT} = ?"
            params.append(subject)
        if types:
            sql += f" AND {ENTRY_TYPE} IN ({', '.join('?' * len(types))})"
            params += list(types)
        sql += " ORDER BY idx"
        try:
            if conn is not None:
                rows = conn.exec_driver_sql(sql, tuple(params)).fetchall()
            else:
                with self._read() as raw:
                    rows = raw.cursor().execute(sql, params).fetchall()
        except (sqlite3.DatabaseError, SQLAlchemyError) as exc:
            why = exc.args[0] if exc.args else exc
            raise IntegrityError(
                f"the audit log cannot be searched ({why}); run `ringfence audit verify`"
            ) from None
        out = []
        for idx, data in rows:
            try:
                entry = parse_canonical(bytes(data))
            except IntegrityError:
                raise IntegrityError(
                    f"audit entry {idx} is not canonical JSON; run `ringfence audit verify`"
                ) from None
            if not isinstance(entry, dict):
                continue
            if subject is not None and entry.get("subject") != subject:
                continue
            if types and entry.get("type") not in types:
                continue
            out.append((int(idx), entry))
        return out

    def rehash(self, end: int) -> EntryRun:
        """Entries [0, end) checked and hashed again from their bytes, in one snapshot.

        The cached leaf hashes are compared, never trusted: the run's
        ``problem`` names the first entry that is malformed, missing or no
        longer hashes to its cached value."""
        with self._read() as raw:
            return _scan_rows(raw, 0, end)

    def latest_checkpoint(self) -> Checkpoint | None:
        with self._read() as raw:
            row = raw.cursor().execute(_LATEST_CHECKPOINT).fetchone()
        return None if row is None else _row_to_checkpoint(row)

    def checkpoints(self) -> list[Checkpoint]:
        with self._read() as raw:
            rows = raw.cursor().execute(_ALL_CHECKPOINTS).fetchall()
        return [_row_to_checkpoint(r) for r in rows]

    def _proof(self, raw: Any, ranges: list[tuple[int, int]]) -> list[bytes]:
        nodes = self._dbapi_nodes(raw)
        return [merkle.range_hash(a, b, nodes.get) for a, b in ranges]

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The audit path of entry *index* in the tree of the first *size* entries."""
        with self._read() as raw:
            return self._inclusion_proof(raw, index, size)

    def _inclusion_proof(self, raw: Any, index: int, size: int | None) -> list[bytes]:
        current = self._size(raw.cursor())
        size = current if size is None else size
        if not 0 <= size <= current:
            raise NotFound(f"the audit log has {current} entries, not {size}")
        if not 0 <= index < size:
            raise NotFound(f"no audit entry {index} in a log of {size}")
        return self._proof(raw, merkle.inclusion_ranges(index, size))

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """Proof that the log at *new_size* extends the log at *old_size*."""
        with self._read() as raw:
            current = self._size(raw.cursor())
            new_size = current if new_size is None else new_size
            if not 0 <= new_size <= current:
                raise NotFound(f"the audit log has {current} entries, not {new_size}")
            if not 0 <= old_size <= new_size:
                raise NotFound(f"no consistency proof from size {old_size} to {new_size}")
            return self._proof(raw, merkle.consistency_ranges(old_size, new_size))

    def prove(self, index: int) -> str:
        """A tlog-proof of entry *index* against the latest checkpoint."""
        with self._read() as raw:
            row = raw.cursor().execute(_LATEST_CHECKPOINT).fetchone()
            if row is None:
                raise NotFound("the audit log has no checkpoint yet")
            latest = _row_to_checkpoint(row)
            if not 0 <= index < latest.size:
                raise NotFound(
                    f"audit entry {index} is not covered by the latest checkpoint "
                    f"({latest.size} entries); sign a new one first"
                )
            hashes = self._inclusion_proof(raw, index, latest.size)
        return format_inclusion_proof(index, hashes, latest.note)

    # --- verification --------------------------------------------------------

    def verify(
        self,
        verifier_keys: Sequence[str | VerifierKey],
        *,
        workers: int | None = None,
        chunk: int = CHUNK,
    ) -> VerifyReport:
        """Recompute the whole log from the entry bytes and check everything.

        Checks: indices contiguous from 0; each entry canonical JSON of the
        entry schema, with its own index and a time that never decreases; the
        cached leaf hashes and subtree nodes; every stored checkpoint (origin,
        at least one valid signature from *verifier_keys*, sizes never
        shrinking, root equal to the recomputed root at its size, none beyond
        the end of the log). Stops at the first problem.

        Entry checks (parsing, hashing) run in *workers* processes for large
        logs; the tree is rebuilt here, in index order, as their results come.
        """
        try:
            keys = [
                k if isinstance(k, VerifierKey) else parse_verifier_key(k) for k in verifier_keys
            ]
        except IntegrityError as exc:
            return VerifyReport(False, None, f"bad verifier key: {exc.message}", 0, 0)
        if not keys:
            return VerifyReport(False, None, "no verifier key given", 0, 0)
        try:
            copy = self.read_copy()
            copy_body = None if copy is None else parse_checkpoint(split_note(copy)[0])
        except (IntegrityError, StorageError) as exc:
            return VerifyReport(False, None, f"{COPY_NAME}: {exc.message}", 0, 0)
        try:
            heads = self._head_bodies()
        except (IntegrityError, StorageError) as exc:
            return VerifyReport(False, None, exc.message, 0, 0)
        with self._read() as raw:
            cur = raw.cursor()
            rows = cur.execute("SELECT id, size, root, note FROM checkpoint ORDER BY id").fetchall()
            marks: list[tuple[int | None, int, bytes, str]] = [
                (r[0], r[1], bytes(r[2]), r[3]) for r in rows
            ]
            if copy is not None and copy_body is not None:
                marks.append((None, copy_body.size, copy_body.root, copy))
            named = [
                (
                    f"the newest checkpoint the owner signed, kept outside the vault "
                    f"in {path} (size {body.size})",
                    note,
                )
                for path, note, body in heads
            ]
            auditor = LogAuditor(
                self.origin, keys, marks, lambda level: _node_rows(raw, level), named=named
            )
            try:
                self._verify(raw, auditor, workers, chunk)
                self._check_kept(auditor.size, [r[3] for r in rows], copy)
            except LogProblem as problem:
                return VerifyReport(
                    False,
                    problem.index,
                    problem.reason,
                    auditor.size,
                    auditor.checked,
                    problem.checkpoint,
                )
        return VerifyReport(
            True,
            None,
            f"{auditor.size} entries and {auditor.checked} checkpoints verified",
            auditor.size,
            auditor.checked,
        )

    def _check_kept(self, size: int, notes: list[str], copy: str | None) -> None:
        """Checkpoints are never removed: a log with entries has at least one, and
        the copy beside the catalog is one of the catalog's own."""
        if size and not notes:
            raise LogProblem(
                0,
                f"the log has {size} entries but no signed checkpoint: "
                "its checkpoints were removed",
            )
        if self.copy_path is None:
            return
        if copy is None:
            if notes:
                raise LogProblem(
                    None,
                    f"the copy of the latest checkpoint ({COPY_NAME}) "
                    "is missing from the vault folder",
                )
        elif copy not in notes:
            raise LogProblem(
                None,
                f"the checkpoint kept in {COPY_NAME} is not among the "
                "catalog's checkpoints: checkpoints were removed",
            )

    def _verify(self, raw: Any, auditor: LogAuditor, workers: int | None, chunk: int) -> None:
        row = raw.cursor().execute("SELECT MIN(idx), MAX(idx) FROM audit_entry").fetchone()
        if row is not None and row[0] is not None and row[0] < 0:
            raise LogProblem(0, f"an entry has the negative index {row[0]}")
        size = 0 if row is None or row[1] is None else int(row[1]) + 1
        spans = [(s, min(s + chunk, size)) for s in range(0, size, chunk)]
        database = self.engine.url.database
        if workers is None:
            workers = min(os.cpu_count() or 1, 4) if size >= PARALLEL_FROM else 1
        runs: Iterator[EntryRun]
        if workers > 1 and len(spans) > 1 and database and database != ":memory:":
            pool = Workers(database, min(workers, len(spans)), spans)
        else:
            pool = None
        try:
            runs = pool.results() if pool else (_scan_rows(raw, a, b) for a, b in spans)
            for run in runs:
                auditor.feed(run)
        finally:
            if pool:
                pool.close()
        stray = (
            raw.cursor()
            .execute(
                "SELECT level, pos FROM audit_node WHERE level < 1 OR level > ? LIMIT 1",
                (max(size.bit_length(), 1),),
            )
            .fetchone()
        )
        auditor.finish(None if stray is None else (int(stray[0]), int(stray[1])))


def _read_note(path: Path | None) -> str | None:
    """A checkpoint note kept in a file, or None if there is no such file."""
    if path is None:
        return None
    try:
        # Bounded, and never blocking on a FIFO put in its place (vault.fsutil).
        data = read_regular(path, MAX_NOTE, follow_symlinks=True)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            raise IntegrityError(f"{path} is not a checkpoint note (too large)") from None
        raise StorageError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise IntegrityError(f"{path} is not a checkpoint note") from None


_ABOUT = "SELECT idx, entry FROM audit_entry WHERE idx >= ?"
#: The table itself, never an index: for lookups whose empty answer allows something.
_ABOUT_TABLE = "SELECT idx, entry FROM audit_entry NOT INDEXED WHERE idx >= ?"


def _node_rows(raw: Any, level: int) -> Iterator[tuple[int, bytes]]:
    return iter(
        raw.cursor().execute(
            "SELECT pos, hash FROM audit_node WHERE level = ? ORDER BY pos", (level,)
        )
    )


def _scan_rows(raw: Any, start: int, end: int) -> EntryRun:
    return check_entry_rows(raw.cursor().execute(SPAN, (start, end)), start, end)
