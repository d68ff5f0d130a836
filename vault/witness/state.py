"""The witness's folder: its key, the logs it trusts, the latest size it cosigned.

    STATE/            0700
      witness.key     the Ed25519 cosigning key (PKCS#8 PEM, 0600, no passphrase:
                      the witness signs unattended; the folder is its protection)
      witness.db      SQLite (0600): the witness's name, each log's trusted keys,
                      each log's latest cosigned size and root, and evidence

The latest cosigned size is checked and moved forward in one ``BEGIN
IMMEDIATE`` transaction (:meth:`WitnessState.record`), so two requests racing
for the same log can never both pass the check: the second one waits for the
write lock, then sees the size the first one stored. That also holds between
processes (a server and an offline ``witness cosign`` on the same folder).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vault.audit.merkle import EMPTY_ROOT
from vault.audit.note import Checkpoint, NoteError, VerifierKey, check_key_name, parse_verifier_key
from vault.errors import IntegrityError, StorageError, UsageError, VaultError
from vault.fsutil import ensure_private_dir, read_regular, storage_error, write_atomic
from vault.safetext import shown
from vault.witness.cosignature import Cosigner

KEY_FILE = "witness.key"
DB_FILE = "witness.db"
#: How long a request waits for another one's write lock before giving up.
BUSY_TIMEOUT_S = 30.0
#: Evidence of a log's misbehaviour kept per log, oldest dropped first.
MAX_EVIDENCE = 100

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trusted_key (
    origin TEXT NOT NULL, key TEXT NOT NULL, added_at TEXT NOT NULL,
    PRIMARY KEY (origin, key));
CREATE TABLE IF NOT EXISTS log (
    origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL,
    cosigned_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS evidence (
    id INTEGER PRIMARY KEY AUTOINCREMENT, origin TEXT NOT NULL, at TEXT NOT NULL,
    reason TEXT NOT NULL, request BLOB NOT NULL);
"""


def check_origin(origin: str) -> str:
    """An origin as a checkpoint's first line allows it, else UsageError."""
    try:
        Checkpoint(origin, 0, EMPTY_ROOT)
    except NoteError as exc:
        raise UsageError(exc.message) from None
    return origin


@dataclass(frozen=True)
class LogRecord:
    """A log the witness knows: its trusted keys and what it last cosigned."""

    origin: str
    keys: tuple[str, ...]
    size: int | None
    root: bytes | None
    cosigned_at: str | None


class Latest:
    """The stored size and root of one log, inside the locked transaction."""

    def __init__(self, conn: sqlite3.Connection, origin: str) -> None:
        self._conn = conn
        self.origin = origin
        row = conn.execute("SELECT size, root FROM log WHERE origin = ?", (origin,)).fetchone()
        # A log never cosigned is at size 0, whose tree is the empty tree.
        self.size: int = 0 if row is None else int(row[0])
        self.root: bytes = EMPTY_ROOT if row is None else bytes(row[1])

    def set(self, size: int, root: bytes, at: datetime) -> None:
        self._conn.execute(
            "INSERT INTO log (origin, size, root, cosigned_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, "
            "cosigned_at = excluded.cosigned_at",
            (self.origin, size, root, at.astimezone(UTC).isoformat()),
        )
        self.size, self.root = size, root


class WitnessState:
    """A witness's folder, opened (and made on first use)."""

    def __init__(self, root: Path, cosigner: Cosigner, created: bool) -> None:
        self.root = root
        self.cosigner = cosigner
        self.created = created

    @property
    def db_path(self) -> Path:
        return self.root / DB_FILE

    # --- opening ---------------------------------------------------------------

    @classmethod
    def open(cls, root: Path, *, name: str | None = None) -> WitnessState:
        """Open the folder *root*, creating the key and database the first time.

        *name* is the witness's key name; only a new witness takes one (a
        witness's name is part of its key ID, so it never changes)."""
        if name is not None:
            try:
                check_key_name(name)
            except NoteError as exc:
                raise UsageError(f"--name: {exc.message}") from None
        try:
            ensure_private_dir(root, share=False)
        except OSError as exc:
            raise storage_error(exc, f"cannot create {shown(root)}") from exc
        created = not (root / KEY_FILE).exists()
        conn = _connect(root / DB_FILE, init=True)
        try:
            stored = conn.execute("SELECT value FROM meta WHERE key = 'name'").fetchone()
            if created:
                if stored is not None:
                    raise VaultError(
                        f"{shown(root)}: the witness database has a name but {KEY_FILE} is missing"
                    )
                key = Ed25519PrivateKey.generate()
                witness_name = name or f"ringfence.witness/{secrets.token_hex(6)}"
                write_atomic(
                    root / KEY_FILE,
                    key.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption(),
                    ),
                    mode=0o600,
                    share=False,
                )
                with conn:
                    conn.execute(
                        "INSERT INTO meta (key, value) VALUES ('name', ?)", (witness_name,)
                    )
            else:
                if stored is None:
                    raise VaultError(f"{shown(root)}: the witness database has no name")
                witness_name = str(stored[0])
                if name is not None and name != witness_name:
                    raise UsageError(
                        f"this witness is named {witness_name!r}; a witness's "
                        "name cannot change (its key ID depends on it)"
                    )
                key = _load_key(root / KEY_FILE)
        finally:
            conn.close()
        return cls(root, Cosigner(witness_name, key), created)

    @contextlib.contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        conn = _connect(self.db_path)
        try:
            yield conn
        finally:
            conn.close()

    # --- the logs it trusts -----------------------------------------------------

    def trust(self, origin: str, key: str, at: datetime) -> VerifierKey:
        """Trust *key* (a log's signed-note verifier key) for the log *origin*."""
        check_origin(origin)
        try:
            verifier = parse_verifier_key(key.strip())
        except IntegrityError as exc:
            raise UsageError(exc.message) from None
        with self._conn() as conn, conn:
            conn.execute(
                "INSERT OR IGNORE INTO trusted_key (origin, key, added_at) VALUES (?, ?, ?)",
                (origin, verifier.encode(), at.astimezone(UTC).isoformat()),
            )
        return verifier

    def distrust(self, origin: str, key: str | None) -> int:
        """Stop trusting one key of *origin*, or all of them; the count removed."""
        with self._conn() as conn, conn:
            if key is None:
                cur = conn.execute("DELETE FROM trusted_key WHERE origin = ?", (origin,))
            else:
                cur = conn.execute(
                    "DELETE FROM trusted_key WHERE origin = ? AND key = ?", (origin, key.strip())
                )
            return cur.rowcount

    def trusted_keys(self, origin: str) -> list[VerifierKey]:
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT key FROM trusted_key WHERE origin = ? ORDER BY key", (origin,)
            ).fetchall()
        return [parse_verifier_key(str(r[0])) for r in rows]

    def logs(self) -> list[LogRecord]:
        with self._conn() as conn:
            keys: dict[str, list[str]] = {}
            for origin, key in conn.execute(
                "SELECT origin, key FROM trusted_key ORDER BY origin, key"
            ):
                keys.setdefault(origin, []).append(key)
            latest = {
                str(o): (int(s), bytes(r), str(t))
                for o, s, r, t in conn.execute("SELECT origin, size, root, cosigned_at FROM log")
            }
        out = []
        for origin in sorted(set(keys) | set(latest)):
            size, root, at = latest.get(origin, (None, None, None))
            out.append(LogRecord(origin, tuple(keys.get(origin, ())), size, root, at))
        return out

    # --- the latest cosigned checkpoint ------------------------------------------

    @contextlib.contextmanager
    def record(self, origin: str) -> Iterator[Latest]:
        """The log's latest cosigned size and root, under the database's write lock.

        What the block sets is committed when it ends without an exception
        (and is on disk before the caller answers); an exception rolls back."""
        with self._conn() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StorageError(f"the witness database is busy or unwritable: {exc}") from None
            try:
                yield Latest(conn, origin)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:  # e.g. the disk is full: nothing is cosigned
                raise StorageError(f"cannot record the cosigned size: {exc}") from None

    def keep_evidence(self, origin: str, reason: str, request: bytes, at: datetime) -> None:
        """Keep a request that a trusted key signed but that does not extend what
        was cosigned: it may prove the log forked. Bounded per log."""
        with self._conn() as conn, conn:
            conn.execute(
                "INSERT INTO evidence (origin, at, reason, request) VALUES (?, ?, ?, ?)",
                (origin, at.astimezone(UTC).isoformat(), reason, request),
            )
            conn.execute(
                "DELETE FROM evidence WHERE origin = ? AND id NOT IN (SELECT id FROM "
                "evidence WHERE origin = ? ORDER BY id DESC LIMIT ?)",
                (origin, origin, MAX_EVIDENCE),
            )

    def evidence(self, origin: str) -> list[tuple[str, str, bytes]]:
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT at, reason, request FROM evidence WHERE origin = ? ORDER BY id", (origin,)
            ).fetchall()
        return [(str(a), str(r), bytes(q)) for a, r, q in rows]


def _connect(path: Path, *, init: bool = False) -> sqlite3.Connection:
    """A connection to the witness database, made 0600 before SQLite writes to it."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise storage_error(exc, f"cannot open {shown(path)}") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise VaultError(f"{shown(path)} is not a regular file")
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    try:
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        if init:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(_SCHEMA)
        conn.execute("PRAGMA synchronous = FULL")  # a cosigned size is on disk before the reply
    except sqlite3.DatabaseError as exc:
        raise VaultError(f"{shown(path)}: not a witness database ({exc})") from None
    return conn


def _load_key(path: Path) -> Ed25519PrivateKey:
    try:
        mode = os.lstat(path).st_mode
        if mode & 0o077:
            raise VaultError(f"{shown(path)} is readable by others: chmod 600 it")
        data = read_regular(path, 4096)
        key = serialization.load_pem_private_key(data, password=None)
    except FileNotFoundError:
        raise VaultError(f"the witness key {shown(path)} is missing") from None
    except (OSError, ValueError) as exc:
        raise VaultError(
            f"cannot load the witness key {shown(path)}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise VaultError(f"the witness key {shown(path)} is not an Ed25519 key")
    return key
