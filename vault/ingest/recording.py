"""Recording clips that arrive as bytes: the catalog side of every receiver.

:class:`CatalogSink` is the :class:`vault.ingest.ftp_sink.ClipSink` the
daemon gives its receivers (FTP, stream recorder). Each upload is sealed by
the inner :class:`StoreSink` as it arrives and read once by a
:class:`vault.media.passing.PassingProbe` on the way. On commit, in this
order (the same crash-safe order as ``pipeline.py`` for a file):

1. the store's intent note was written before the first payload byte; the
   payload is fsynced and renamed into place (a crash before this leaves a
   temp file, removed at start);
2. the ``clip`` row, its ``clip.sealed`` entry and, for a clip the media
   check found cut short, its ``clip.truncated`` entry commit in one
   transaction (a crash before this leaves a blob with an intent and no row,
   which recovery deletes: the sender was never told the upload succeeded);
3. the intent is cleared.

The same bytes again from the same camera are one clip (the new blob goes);
the bytes of a clip the owner shredded are refused and not kept.

``commit`` may run in any thread: every catalog write is its own
transaction, and the audit log's appends serialise on SQLite's write lock.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from vault.audit import events
from vault.audit.log import AuditLog
from vault.catalog.db import catalog_write_error
from vault.catalog.models import Camera, Clip
from vault.errors import NotFound, RingfenceError, StorageError
from vault.ingest.ftp_sink import ClipUpload, SealedUpload, StoreSink
from vault.ingest.pipeline import CameraRef, sealed_details
from vault.ingest.policy import display_name, name_time
from vault.media.passing import PassedClip, PassingProbe
from vault.store import BlobStore

log = logging.getLogger("ringfence.ingest")


class ShreddedBytes(RingfenceError):
    """The upload holds exactly the bytes of a clip the owner shredded: not kept."""


class CatalogSink:
    """Seals each upload into the store and records it as a clip (module docstring)."""

    def __init__(
        self,
        *,
        engine: Engine,
        reader: Engine,
        store: BlobStore,
        audit: AuditLog,
        recipients: list[str],
        clock: Callable[[], datetime],
        new_id: Callable[[str], str],
    ) -> None:
        self._engine, self._reader, self._store, self._audit = engine, reader, store, audit
        self._clock = clock
        self._inner = StoreSink(
            store,
            recipients,
            new_id=new_id,
            intent=lambda blob_id: json.dumps({"log_size": audit.size()}).encode(),
        )
        self._lock = threading.Lock()
        self._recorded = 0  # clips recorded since the daemon last asked
        self.truncated = 0  # clips recorded as cut short, since start

    def begin(
        self,
        camera: str,
        filename: str,
        *,
        source: str = "ftp",
        captured_at: datetime | None = None,
    ) -> _RecordedUpload:
        ref = self._camera(camera)
        arrived = self._clock()
        upload = self._inner.begin(camera, filename, source=source, captured_at=captured_at)
        return _RecordedUpload(self, upload, ref, filename, source, captured_at, arrived)

    def take_recorded(self) -> int:
        """How many clips were recorded since the last call (the daemon's checkpoint cue)."""
        with self._lock:
            n, self._recorded = self._recorded, 0
        return n

    def _camera(self, name: str) -> CameraRef:
        with self._reader.connect() as conn:
            row = conn.execute(
                select(Camera.id, Camera.name, Camera.pattern).where(Camera.name == name)
            ).first()
        if row is None:
            raise NotFound(f"no camera named {display_name(name)}")
        return CameraRef(int(row[0]), str(row[1]), row[2])

    def _record(
        self,
        sealed: SealedUpload,
        camera: CameraRef,
        passed: PassedClip,
        captured_at: datetime,
        from_fallback: bool,
        source: str,
    ) -> SealedUpload:
        """Step 2 and 3 of the module docstring; the clip's id in the result."""
        clip_id = sealed.blob_id
        truncated = passed.whole is False
        facts = passed.facts
        row = {
            "id": clip_id,
            "camera_id": camera.id,
            "captured_at": captured_at,
            "ingested_at": self._clock(),
            "size": sealed.size,
            "sha256": sealed.sha256,
            "payload_size": sealed.payload_size,
            "payload_sha256": sealed.payload_sha256,
            "header": sealed.header,
            "original_name": display_name(sealed.filename),
            "source_path": f"{source}:{sealed.filename}".encode("utf-8", "surrogateescape"),
            "container": facts.container,
            "duration_s": facts.duration_s,
            "width": facts.width,
            "height": facts.height,
            "codec": facts.codec,
            "captured_from_mtime": from_fallback,
            "truncated": truncated,
        }
        existing = None
        try:
            with self._engine.begin() as conn:
                existing = conn.execute(
                    select(Clip.id, Clip.shredded_at).where(
                        Clip.camera_id == camera.id, Clip.sha256 == sealed.sha256
                    )
                ).first()
                if existing is None:
                    conn.execute(insert(Clip).values(**row))
                    self._audit.append(
                        events.CLIP_SEALED,
                        actor="daemon",
                        subject=clip_id,
                        details=sealed_details(row, camera.name),
                        conn=conn,
                    )
                    if truncated:
                        self._audit.append(
                            events.CLIP_TRUNCATED,
                            actor="daemon",
                            subject=clip_id,
                            details={
                                "camera": camera.name,
                                "sha256": sealed.sha256,
                                "why": passed.why or "the media check found it incomplete",
                            },
                            conn=conn,
                        )
        except (SQLAlchemyError, StorageError) as exc:
            self._store.delete(clip_id)
            self._store.clear_intent(clip_id)
            if isinstance(exc, StorageError):
                raise
            raise catalog_write_error(exc, "cannot record the clip in the catalog") from exc
        if existing is not None:
            self._store.delete(clip_id)
        self._store.clear_intent(clip_id)
        if existing is not None and existing[1] is not None:
            raise ShreddedBytes(
                f"{display_name(sealed.filename)} has the same bytes as clip "
                f"{existing[0]}, which was shredded; it was not kept"
            )
        with self._lock:
            if existing is None:
                self._recorded += 1
                self.truncated += int(truncated)
        if existing is not None:
            return dataclasses.replace(sealed, clip_id=str(existing[0]), duplicate=True)
        return dataclasses.replace(sealed, clip_id=clip_id, truncated=truncated)


class _RecordedUpload:
    def __init__(
        self,
        sink: CatalogSink,
        upload: ClipUpload,
        camera: CameraRef,
        filename: str,
        source: str,
        captured_at: datetime | None,
        arrived: datetime,
    ) -> None:
        self._sink, self._upload, self._camera = sink, upload, camera
        self._filename, self._source = filename, source
        self._captured_at, self._arrived = captured_at, arrived
        self._probe = PassingProbe()

    def write(self, data: bytes) -> None:
        self._upload.write(data)
        self._probe.feed(data)

    def commit(self, cut_short: str | None = None) -> SealedUpload:
        sealed = self._upload.commit()  # durable; its intent stays until the row commits
        try:
            passed = self._probe.finish()
            if cut_short is not None:
                # Known to be cut short, whatever its bytes look like.
                passed = dataclasses.replace(passed, whole=False, why=cut_short)
            captured, fallback = self._capture_time()
            return self._sink._record(
                sealed, self._camera, passed, captured, fallback, self._source
            )
        except BaseException:
            # _record cleans up after a failed transaction itself; anything
            # before it (a fault in the probe) must not leave a stray blob.
            if self._sink._store.exists(sealed.blob_id) and not self._recorded(sealed):
                self._sink._store.delete(sealed.blob_id)
                self._sink._store.clear_intent(sealed.blob_id)
            raise

    def _recorded(self, sealed: SealedUpload) -> bool:
        with self._sink._reader.connect() as conn:
            return (
                conn.execute(select(Clip.id).where(Clip.id == sealed.blob_id)).first() is not None
            )

    def _capture_time(self) -> tuple[datetime, bool]:
        """The source's own time, else the name read with the camera's pattern, else
        the arrival time (then flagged, like a drop-folder clip's mtime fallback,
        when a pattern was set and did not match)."""
        if self._captured_at is not None:
            return self._captured_at, False
        named = name_time(self._filename, self._camera.pattern)
        if named is not None:
            return named, False
        return self._arrived, self._camera.pattern is not None

    def abort(self) -> None:
        self._upload.abort()
