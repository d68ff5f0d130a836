"""Sealing one clip: hash and encrypt in one pass, store durably, catalog, remove.

The order is what makes a crash at any instant safe:

1. an intent note for the new clip id is written to the store, then the
   payload is written to a temp file, fsynced and renamed into place (a crash
   before this leaves the plaintext; the temp is cleaned);
2. the catalog row and its audit entry commit in one transaction, then the
   intent is removed (a crash before the commit leaves the plaintext and a blob
   with an intent, removed at start; a failed commit removes the blob itself);
3. the plaintext is unlinked and its folder fsynced (a crash before this
   leaves the plaintext *and* the clip: the next pass sees the same bytes for
   the same camera, keeps the existing clip, and removes the plaintext).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from vault import media
from vault.audit import events
from vault.audit.log import AuditLog
from vault.catalog.db import catalog_write_error
from vault.catalog.models import Clip
from vault.errors import RingfenceError, StorageError
from vault.fsutil import storage_error
from vault.hashio import seal_stream
from vault.ids import new_id
from vault.ingest.folders import folder_beneath, open_drop_folder
from vault.ingest.policy import display_name, mtime_time, name_time
from vault.media.passing import PassingProbe
from vault.store import BlobStore
from vault.timeutil import iso


class FileChanged(RingfenceError):
    """The file changed while it was being sealed: it is not finished yet."""


class NotRegularFile(RingfenceError):
    """Only regular files are ingested (no symlinks, FIFOs or devices)."""


class ShreddedAgain(RingfenceError):
    """The file holds exactly the bytes of a clip the owner shredded.

    It is neither sealed again (the owner wanted that footage gone) nor deleted
    (deleting footage is the owner's decision, recorded, never a side effect):
    it stays in the drop folder and the daemon says so.
    """

    def __init__(self, path: Path, clip_id: str) -> None:
        super().__init__(
            f"{display_name(path.name)} has the same bytes as clip {clip_id}, which was "
            "shredded; it was left where it is"
        )
        self.clip_id = clip_id


@dataclass(frozen=True)
class Sealed:
    clip_id: str
    duplicate: bool  # the same bytes were already a clip of this camera
    size: int
    sha256: str
    time_from_mtime: bool = False  # the name did not match the camera's pattern


@dataclass(frozen=True)
class CameraRef:
    id: int
    name: str
    pattern: str | None


@dataclass(frozen=True)
class DropFolder:
    """One drop folder of a camera and its identity recorded at ``camera add``."""

    path: Path
    camera: CameraRef
    identity: str | None


def _open_regular(dir_fd: int, name: str, path: Path) -> tuple[int, os.stat_result]:
    try:
        # O_NOFOLLOW: a symlink is refused even if it was swapped in after the
        # scan; O_NONBLOCK: opening a FIFO must not hang the daemon.
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # it is a symlink
            raise NotRegularFile(f"{display_name(str(path))} is a symlink") from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise NotRegularFile(f"{display_name(str(path))} is not a regular file")
    return fd, st


class _Watched:
    """The file being sealed, read once: what passes also feeds the media check."""

    def __init__(self, src: Any, watch: PassingProbe) -> None:
        self._src, self._watch = src, watch

    def readinto(self, buf: Any) -> int:
        n = self._src.readinto(buf) or 0
        if n:
            self._watch.feed(bytes(memoryview(buf)[:n]))
        return int(n)

    def read(self, size: int = -1) -> bytes:
        data = bytes(self._src.read(size) or b"")
        self._watch.feed(data)
        return data


def seal_file(
    path: Path,
    folder: DropFolder,
    *,
    engine: Engine,
    store: BlobStore,
    audit: AuditLog,
    recipients: list[str],
    now: datetime,
    new_id: Callable[[str], str] = new_id,
) -> Sealed:
    """Seal *path*, a file under *folder*; see the module docstring for the order.

    The folder is opened and checked against its recorded identity first, and
    the file is opened and later removed beneath that descriptor, never by
    following a path that may have been swapped for a link.
    """
    parts = path.relative_to(folder.path).parts
    folder_fd = open_drop_folder(folder.path, folder.identity)
    try:
        with folder_beneath(folder_fd, parts[:-1], path.parent) as dir_fd:
            return _seal_beneath(
                dir_fd,
                path,
                folder.camera,
                engine=engine,
                store=store,
                audit=audit,
                recipients=recipients,
                now=now,
                new_id=new_id,
            )
    finally:
        os.close(folder_fd)


def _seal_beneath(
    dir_fd: int,
    path: Path,
    camera: CameraRef,
    *,
    engine: Engine,
    store: BlobStore,
    audit: AuditLog,
    recipients: list[str],
    now: datetime,
    new_id: Callable[[str], str],
) -> Sealed:
    fd, st = _open_regular(dir_fd, path.name, path)
    clip_id = new_id("clip")
    try:
        # Probe through the already-open descriptor: the name could be swapped
        # for something else between the check above and a second open.
        with os.fdopen(os.dup(fd), "rb") as probe_file:
            facts = media.probe_stream(probe_file, st.st_size)
        os.lseek(fd, 0, os.SEEK_SET)
        # The intent names the log's size now: a catalog whose log is shorter
        # than that later is older than this sealing, not its survivor.
        store.write_intent(clip_id, json.dumps({"log_size": audit.size()}).encode())
        watch = PassingProbe()
        with store.writer(clip_id) as blob, os.fdopen(fd, "rb", buffering=0, closefd=False) as src:
            try:
                sealing = seal_stream(_Watched(src, watch), blob, recipients)
            except OSError as exc:
                raise storage_error(exc, "cannot seal the clip") from exc
            after = os.fstat(fd)
            if (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns) or (
                sealing.size != after.st_size
            ):
                raise FileChanged(f"{display_name(path.name)} changed while it was sealed")
            blob.commit()
    except BaseException:
        # Nothing was committed to the catalog: the blob (if any) and its
        # intent go; a kill before this line leaves both for recovery.
        with contextlib.suppress(RingfenceError):
            if not store.exists(clip_id):
                store.clear_intent(clip_id)
        raise
    finally:
        os.close(fd)

    sha = sealing.sha256
    # The same wholeness check as an upload's (vault.media.passing), from the
    # bytes that were sealed: a clip cut short is kept, and flagged.
    passed = watch.finish()
    named = name_time(path.name, camera.pattern)
    from_mtime = camera.pattern is not None and named is None
    row: dict[str, Any] = {
        "id": clip_id,
        "camera_id": camera.id,
        "captured_at": named or mtime_time(st.st_mtime),
        "ingested_at": now,
        "size": sealing.size,
        "sha256": sha,
        "payload_size": sealing.payload_size,
        "payload_sha256": sealing.payload_sha256,
        "header": sealing.header,
        "original_name": display_name(path.name),
        "source_path": os.fsencode(path),
        "container": facts.container,
        "duration_s": facts.duration_s,
        "width": facts.width,
        "height": facts.height,
        "codec": facts.codec,
        "captured_from_mtime": from_mtime,
        "truncated": passed.whole is False,
    }
    duplicate_of: str | None = None
    shredded_twin: str | None = None
    try:
        with engine.begin() as conn:
            existing = conn.execute(
                select(Clip.id, Clip.shredded_at).where(
                    Clip.camera_id == camera.id, Clip.sha256 == sha
                )
            ).first()
            if existing is None:
                conn.execute(insert(Clip).values(**row))
                audit.append(
                    events.CLIP_SEALED,
                    actor="daemon",
                    subject=clip_id,
                    details=sealed_details(row, camera.name),
                    conn=conn,
                )
                if row["truncated"]:
                    audit.append(
                        events.CLIP_TRUNCATED,
                        actor="daemon",
                        subject=clip_id,
                        details={
                            "camera": camera.name,
                            "sha256": sha,
                            "why": passed.why or "the media check found it incomplete",
                        },
                        conn=conn,
                    )
            elif existing[1] is not None:
                shredded_twin = existing[0]
            else:
                duplicate_of = existing[0]
    except (SQLAlchemyError, StorageError) as exc:
        # The row did not commit: the payload just written is nobody's clip.
        # The plaintext stays and is sealed again later. (The catalog's error
        # hook already turns a full disk into StorageError.)
        store.delete(clip_id)
        store.clear_intent(clip_id)
        if isinstance(exc, StorageError):
            raise
        raise catalog_write_error(exc, "cannot record the clip in the catalog") from exc
    if duplicate_of is not None or shredded_twin is not None:
        store.delete(clip_id)
    store.clear_intent(clip_id)
    if shredded_twin is not None:
        raise ShreddedAgain(path, shredded_twin)
    remove_plaintext(dir_fd, path, st)
    return Sealed(duplicate_of or clip_id, duplicate_of is not None, sealing.size, sha, from_mtime)


def sealed_details(row: dict[str, Any], camera: str) -> dict[str, Any]:
    """What ``clip.sealed`` records of a clip: every fact ``clips verify``
    compares with the catalog (the header by its SHA-256)."""
    return {
        "camera": camera,
        "captured_at": iso(row["captured_at"]),
        "captured_from_mtime": row["captured_from_mtime"],
        "size": row["size"],
        "sha256": row["sha256"],
        "payload_size": row["payload_size"],
        "payload_sha256": row["payload_sha256"],
        "header_sha256": hashlib.sha256(row["header"]).hexdigest(),
        "name": row["original_name"],
    }


def remove_plaintext(dir_fd: int, path: Path, sealed_stat: os.stat_result) -> None:
    """Unlink the plaintext from its folder's descriptor, but only if it is
    still the file that was sealed."""
    try:
        now = os.stat(path.name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if (now.st_dev, now.st_ino, now.st_size, now.st_mtime_ns) != (
        sealed_stat.st_dev,
        sealed_stat.st_ino,
        sealed_stat.st_size,
        sealed_stat.st_mtime_ns,
    ):
        raise FileChanged(f"{display_name(path.name)} was replaced while it was sealed")
    try:
        os.unlink(path.name, dir_fd=dir_fd)
        os.fsync(dir_fd)
    except OSError as exc:
        raise StorageError(f"sealed, but cannot remove the plaintext: {exc.strerror}") from exc
