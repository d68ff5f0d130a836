"""Sealing one clip: hash and encrypt in one pass, store durably, catalog, remove.

The order is what makes a crash at any instant safe:

1. the payload is written to a temp file in the store, fsynced and renamed
   into place (a crash before this leaves the plaintext; the temp is cleaned);
2. the catalog row and its audit entry commit in one transaction (a crash
   before this leaves the plaintext and an orphan blob, removed at start);
3. the plaintext is unlinked and its folder fsynced (a crash before this
   leaves the plaintext *and* the clip: the next pass sees the same bytes for
   the same camera, keeps the existing clip, and removes the plaintext).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from vault import media
from vault.audit.log import AuditLog
from vault.catalog.models import Clip
from vault.errors import RingfenceError, StorageError
from vault.fsutil import fsync_dir, storage_error
from vault.hashio import seal_stream
from vault.ids import new_id
from vault.ingest.policy import capture_time, display_name
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


@dataclass(frozen=True)
class CameraRef:
    id: int
    name: str
    pattern: str | None


def _open_regular(path: Path) -> tuple[int, os.stat_result]:
    try:
        # O_NOFOLLOW: a symlink is refused even if it was swapped in after the
        # scan; O_NONBLOCK: opening a FIFO must not hang the daemon.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == 40:  # ELOOP: it is a symlink
            raise NotRegularFile(f"{display_name(str(path))} is a symlink") from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise NotRegularFile(f"{display_name(str(path))} is not a regular file")
    return fd, st


def seal_file(
    path: Path,
    camera: CameraRef,
    *,
    engine: Engine,
    store: BlobStore,
    audit: AuditLog,
    recipients: list[str],
    now: datetime,
) -> Sealed:
    """Seal *path* as a clip of *camera*; see the module docstring for the order."""
    fd, st = _open_regular(path)
    try:
        # Probe through the already-open descriptor: the name could be swapped
        # for something else between the check above and a second open.
        with os.fdopen(os.dup(fd), "rb") as probe_file:
            facts = media.probe_stream(probe_file, st.st_size)
        os.lseek(fd, 0, os.SEEK_SET)
        clip_id = new_id("clip")
        with store.writer(clip_id) as blob, os.fdopen(fd, "rb", buffering=0, closefd=False) as src:
            try:
                sealing = seal_stream(src, blob, recipients)
            except OSError as exc:
                raise storage_error(exc, "cannot seal the clip") from exc
            after = os.fstat(fd)
            if (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns) or (
                sealing.size != after.st_size
            ):
                raise FileChanged(f"{display_name(path.name)} changed while it was sealed")
            blob.commit()
    finally:
        os.close(fd)

    sha = sealing.sha256
    row: dict[str, Any] = {
        "id": clip_id,
        "camera_id": camera.id,
        "captured_at": capture_time(path.name, camera.pattern, st.st_mtime),
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
    }
    duplicate_of: str | None = None
    shredded_twin: str | None = None
    with engine.begin() as conn:
        existing = conn.execute(
            select(Clip.id, Clip.shredded_at).where(  # type: ignore[call-overload]
                Clip.camera_id == camera.id, Clip.sha256 == sha
            )
        ).first()
        if existing is None:
            conn.execute(insert(Clip).values(**row))
            audit.append(
                "clip.sealed",
                actor="daemon",
                subject=clip_id,
                details={
                    "camera": camera.name,
                    "captured_at": iso(row["captured_at"]),
                    "size": row["size"],
                    "sha256": sha,
                    "payload_sha256": row["payload_sha256"],
                    "name": row["original_name"],
                },
                conn=conn,
            )
        elif existing[1] is not None:
            shredded_twin = existing[0]
        else:
            duplicate_of = existing[0]
    if duplicate_of is not None or shredded_twin is not None:
        store.delete(clip_id)
    if shredded_twin is not None:
        raise ShreddedAgain(path, shredded_twin)
    remove_plaintext(path, st)
    return Sealed(duplicate_of or clip_id, duplicate_of is not None, sealing.size, sha)


def remove_plaintext(path: Path, sealed_stat: os.stat_result) -> None:
    """Unlink the plaintext, but only if it is still the file that was sealed."""
    try:
        now = os.lstat(path)
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
        os.unlink(path)
        fsync_dir(path.parent)
    except OSError as exc:
        raise StorageError(f"sealed, but cannot remove the plaintext: {exc.strerror}") from exc
