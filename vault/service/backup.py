"""Backups that restore on another machine and honour crypto-shredding.

``ringfence backup DEST`` copies a consistent snapshot of the vault while the
daemon runs (docs/backup.md):

1. the catalog is copied with SQLite's online backup API, in one read
   transaction, into a private staging folder in the vault;
2. new payloads are copied to DEST (hashed first: a damaged payload is never
   copied), and payloads DEST holds that the snapshot no longer needs
   (shredded clips) are removed;
3. headers of clips shredded while the backup ran are removed from the copy,
   which is then rewritten whole (``VACUUM INTO``) and searched for every
   wrapped key that was shredded: one found is an error, never a backup;
4. DEST's old catalog has the headers of clips shredded since the last run
   securely deleted in place, then is replaced by the new one;
5. the manifest is written last, and the run is logged (``backup.taken``).

The small files travel with it: ``config.toml``, the checkpoint the snapshot
ends with, the owner's key files (sealed with the passphrase) and the device
key sealed to the owner's recipients, so a backup alone opens nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from vault.audit import events, reads
from vault.catalog.models import Clip
from vault.catalog.sqlite import BUSY_TIMEOUT_MS, TRUNCATE_WAL
from vault.config import (
    CATALOG_NAME,
    CHECKPOINT_COPY_NAME,
    CONFIG_NAME,
    DEVICE_KEY_NAME,
    KEYS_DIR,
    OWNER_IDENTITY_NAME,
    OWNER_SIGNING_NAME,
    RECOVERY_KEYS_NAME,
)
from vault.errors import IntegrityError, StorageError
from vault.fsutil import storage_error, write_atomic
from vault.keys import sealed_device_key
from vault.keyscan import holds_any_key, key_lines
from vault.service.backup_dest import Destination, parse_destination
from vault.service.backup_log import latest_backups, staging
from vault.service.context import VaultContext
from vault.service.keyring import Keyring
from vault.timeutil import iso

MANIFEST_NAME = "ringfence-backup.json"
MANIFEST_FORMAT = "ringfence-backup/1"
OWNER_IDENTITY_REL = f"{KEYS_DIR}/{OWNER_IDENTITY_NAME}"
OWNER_SIGNING_REL = f"{KEYS_DIR}/{OWNER_SIGNING_NAME}"
DEVICE_SEALED_REL = f"{KEYS_DIR}/{DEVICE_KEY_NAME}.age"
#: The owner's keys sealed to the recovery key, while the vault has one.
RECOVERY_REL = f"{KEYS_DIR}/{RECOVERY_KEYS_NAME}"
#: The small files of a backup, besides its manifest and payloads.
SMALL_FILES = (
    CONFIG_NAME,
    CHECKPOINT_COPY_NAME,
    OWNER_IDENTITY_REL,
    OWNER_SIGNING_REL,
    DEVICE_SEALED_REL,
    CATALOG_NAME,
)


@dataclass(frozen=True)
class BackupReport:
    destination: str
    taken_at: str
    log_size: int
    clips: int
    attachments: int
    payloads_added: int
    payloads_removed: int
    shredded_removed: list[str] = field(default_factory=list)
    catalog_sha256: str = ""


@dataclass
class _Snapshot:
    """What the catalog copy holds: live payloads by fan-out path, and more."""

    path: Path
    blobs: dict[str, tuple[str, int | None, str]]  # rel -> (id, size or None, sha256)
    live_clips: set[str]
    shredded: set[str]
    attachments: int
    log_size: int
    checkpoint: str | None


# --- SQLite ------------------------------------------------------------------------------


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(os.fspath(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.execute("PRAGMA secure_delete=ON")
    return conn


def snapshot_catalog(live: Path, out: Path) -> None:
    """Copy the catalog at *live* into *out* with the online backup API: all
    pages in one step, so in one read snapshot, whatever the daemon writes."""
    src = _connect(live)
    try:
        src.execute("PRAGMA query_only=ON")
        dst = sqlite3.connect(os.fspath(out))
        try:
            src.backup(dst)
        finally:
            dst.close()
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"cannot copy the catalog: {exc}") from None
    finally:
        src.close()


def _read_snapshot(path: Path, blob_rel: Any) -> _Snapshot:
    conn = _connect(path)
    try:
        blobs: dict[str, tuple[str, int | None, str]] = {}
        live: set[str] = set()
        shredded: set[str] = set()
        for cid, size, sha, has_header, gone in conn.execute(
            "SELECT id, payload_size, payload_sha256, header IS NOT NULL, "
            "shredded_at IS NOT NULL FROM clip"
        ):
            if gone or not has_header:
                shredded.add(cid)
                continue
            live.add(cid)
            blobs[blob_rel(cid)] = (cid, int(size), sha)
        attachments = 0
        for aid, sha in conn.execute(
            "SELECT id, payload_sha256 FROM attachment WHERE header IS NOT NULL"
        ):
            blobs[blob_rel(aid)] = (aid, None, sha)
            attachments += 1
        row = conn.execute("SELECT note FROM checkpoint ORDER BY id DESC LIMIT 1").fetchone()
        return _Snapshot(
            path,
            blobs,
            live,
            shredded,
            attachments,
            reads.log_size(conn),
            None if row is None else str(row[0]),
        )
    finally:
        conn.close()


def _headers(path: Path, ids: set[str]) -> dict[str, bytes]:
    """The headers the catalog at *path* still holds for clips *ids*."""
    out: dict[str, bytes] = {}
    if not ids:
        return out
    conn = _connect(path)
    try:
        for cid, header in conn.execute("SELECT id, header FROM clip WHERE header IS NOT NULL"):
            if cid in ids:
                out[cid] = bytes(header)
    finally:
        conn.close()
    return out


def _live_headers(path: Path) -> dict[str, bytes]:
    conn = _connect(path)
    try:
        return {
            cid: bytes(h)
            for cid, h in conn.execute("SELECT id, header FROM clip WHERE header IS NOT NULL")
        }
    finally:
        conn.close()


def remove_headers(
    path: Path, ids: set[str], *, shredded_at: dict[str, str] | None = None, wal: bool = False
) -> None:
    """Securely delete the headers of clips *ids* in the catalog file *path*.

    With *wal*, the change goes through a write-ahead log that is copied into
    the file and removed: the new pages overwrite the old in place, and no
    journal ever holds the old ones.
    """
    if not ids:
        return
    conn = _connect(path)
    try:
        if wal:
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("BEGIN IMMEDIATE")
        for cid in sorted(ids):
            when = (shredded_at or {}).get(cid)
            if when is None:
                conn.execute("UPDATE clip SET header = NULL WHERE id = ?", (cid,))
            else:
                conn.execute(
                    "UPDATE clip SET header = NULL, shredded_at = "
                    "COALESCE(shredded_at, ?) WHERE id = ?",
                    (when, cid),
                )
        conn.execute("COMMIT")
        if wal:
            conn.execute(TRUNCATE_WAL)
            conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()


def rewrite_catalog(src: Path, out: Path) -> None:
    """A full rewrite of *src* into *out* (VACUUM INTO): every page written
    afresh, no free space carried over; a plain file, no WAL."""
    conn = _connect(src)
    try:
        conn.execute("VACUUM INTO ?", (os.fspath(out),))
    finally:
        conn.close()
    conn = _connect(out)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()


def file_sha256(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            n += len(chunk)
    return n, digest.hexdigest()


# --- the service -------------------------------------------------------------------------


class BackupService:
    """Backups of this vault to a folder or an rclone remote. Needs no
    passphrase: everything it copies is sealed already."""

    def __init__(self, ctx: VaultContext, keyring: Keyring) -> None:
        self.ctx = ctx
        self.keyring = keyring

    def _rel(self, blob_id: str) -> str:
        return self.ctx.store.path(blob_id).relative_to(self.ctx.store.root).as_posix()

    def take(self, destination: str) -> BackupReport:
        """Back the vault up to *destination* (a folder or ``rclone:REMOTE:PATH``)."""
        dest = parse_destination(destination)
        with staging(self.ctx.layout) as folder:
            return self._take(dest, folder)

    def _take(self, dest: Destination, folder: Path) -> BackupReport:
        ctx = self.ctx
        taken_at = iso(ctx.clock()) or ""
        snap_path = folder / "snapshot.db"
        snapshot_catalog(ctx.layout.catalog, snap_path)
        snap = _read_snapshot(snap_path, self._rel)

        # What DEST holds from its last run that was shredded since.
        previous = folder / "previous.db"
        gone: dict[str, bytes] = {}
        previous_ok = False
        try:
            if dest.fetch(CATALOG_NAME, previous):
                gone = {
                    cid: h
                    for cid, h in _live_headers(previous).items()
                    if cid not in snap.live_clips
                }
                previous_ok = True
        except sqlite3.DatabaseError:
            previous_ok = False  # unreadable: replaced whole below, after zeroing

        # Payloads: hashed against the catalog, then copied; damage is never copied.
        have = dest.blobs()
        new: list[str] = []
        problems: list[str] = []
        for rel, (blob_id, size, sha) in sorted(snap.blobs.items()):
            if rel in have and (size is None or have[rel] == size):
                continue
            try:
                got = file_sha256(ctx.store.root / rel)
            except FileNotFoundError:
                if blob_id in snap.live_clips:
                    continue  # shredded since the snapshot: handled below
                problems.append(f"{blob_id}: its payload is missing from the store")
                continue
            except OSError as exc:
                raise storage_error(exc, f"cannot read the payload of {blob_id}") from exc
            if got[1] != sha or (size is not None and got[0] != size):
                problems.append(f"{blob_id}: its payload in the store does not match its hash")
                continue
            new.append(rel)
        dest.put_blobs(ctx.store.root, new)

        # Clips shredded while this ran: their headers leave the copy too.
        with ctx.reader.connect() as conn:
            now_shredded = {
                cid: iso(at) or ""
                for cid, at in conn.execute(
                    select(Clip.id, Clip.shredded_at).where(
                        Clip.shredded_at.is_not(None)  # type: ignore[union-attr]
                    )
                )
                if cid in snap.live_clips
            }
        during = _headers(snap_path, set(now_shredded))
        remove_headers(snap_path, set(now_shredded), shredded_at=now_shredded)
        problems = [p for p in problems if p.split(":", 1)[0] not in now_shredded]
        if problems:
            raise IntegrityError(
                "the backup was not finished: "
                + "; ".join(problems)
                + " (run `ringfence clips verify`)"
            )
        final = folder / CATALOG_NAME
        rewrite_catalog(snap_path, final)
        snap_path.unlink()
        keys: set[bytes] = set()
        for header in (*gone.values(), *during.values()):
            keys |= key_lines(header)
        if keys and holds_any_key(final, keys):
            raise IntegrityError(
                "the catalog copy still holds a shredded header; "
                "nothing was replaced at the destination"
            )
        size, digest = file_sha256(final)

        # The small files, then the catalog (the old one's shredded headers
        # securely deleted in place first), then the manifest.
        write_atomic(folder / "device.age", sealed_device_key(ctx.layout, ctx.config.recipients))
        dest.put(ctx.layout.config, CONFIG_NAME)
        dest.put(ctx.layout.owner_identity, OWNER_IDENTITY_REL)
        dest.put(ctx.layout.owner_signing, OWNER_SIGNING_REL)
        dest.put(folder / "device.age", DEVICE_SEALED_REL)
        if ctx.layout.recovery_keys.exists():
            dest.put(ctx.layout.recovery_keys, RECOVERY_REL)
        else:
            dest.remove(RECOVERY_REL)  # revoked since the last run
        if snap.checkpoint is not None:
            write_atomic(folder / CHECKPOINT_COPY_NAME, snap.checkpoint.encode())
            dest.put(folder / CHECKPOINT_COPY_NAME, CHECKPOINT_COPY_NAME)
        old = dest.local_path(CATALOG_NAME)
        if old is not None and old.exists():
            _scrub_in_place(old, set(gone) | set(now_shredded), previous_ok)
        dest.put(final, CATALOG_NAME)
        if old is not None and keys:
            left = [
                p.name
                for p in (old, old.with_name(old.name + "-wal"))
                if p.exists() and holds_any_key(p, keys)
            ]
            if left:
                raise IntegrityError(
                    f"a shredded header is still in {', '.join(left)} at the destination"
                )
        stale = sorted(set(have) - set(snap.blobs))
        dest.delete_blobs(stale)
        manifest = {
            "format": MANIFEST_FORMAT,
            "vault_id": ctx.config.vault_id,
            "origin": ctx.config.origin,
            "taken_at": taken_at,
            "log_size": snap.log_size,
            "catalog_sha256": digest,
            "catalog_size": size,
            "clips": len(snap.live_clips) - len(now_shredded),
            "attachments": snap.attachments,
        }
        write_atomic(
            folder / MANIFEST_NAME, json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
        )
        dest.put(folder / MANIFEST_NAME, MANIFEST_NAME)

        removed = sorted(set(gone) | set(now_shredded))
        report = BackupReport(
            dest.describe(),
            taken_at,
            snap.log_size,
            manifest["clips"],
            snap.attachments,
            len(new),
            len(stale),
            removed,
            digest,
        )
        ctx.audit.append(
            events.BACKUP_TAKEN,
            actor=ctx.actor,
            subject=report.destination,
            details={
                "destination": report.destination,
                "log_size": report.log_size,
                "clips": report.clips,
                "payloads_added": report.payloads_added,
                "payloads_removed": report.payloads_removed,
                "shredded_removed": report.shredded_removed,
                "catalog_sha256": digest,
            },
        )
        self.keyring.checkpoint()
        return report

    def destinations(self) -> list[dict[str, str]]:
        """Every destination a backup was taken to, with its latest run (from the log)."""
        with self.ctx.reader.connect() as conn:
            raw = self.ctx.audit.raw_of_types([events.BACKUP_TAKEN], conn)
        return latest_backups(raw)


def _scrub_in_place(old: Path, gone: set[str], readable: bool) -> None:
    """Before the destination's old catalog is replaced, overwrite where it
    kept the headers of clips shredded since: by SQLite's secure delete when it
    can be read, else by zeros over the whole file."""
    if readable:
        try:
            remove_headers(old, gone, wal=True)
            return
        except sqlite3.DatabaseError:
            pass
    try:
        size = old.stat().st_size
        with open(old, "r+b") as f:
            left = size
            while left > 0:
                n = f.write(b"\0" * min(left, 1 << 20))
                left -= n
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        raise storage_error(exc, f"cannot overwrite the old catalog at {old}") from exc
