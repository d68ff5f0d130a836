"""Where FTP uploads go: the :class:`ClipSink` interface and a sink that seals into the store.

The receiver (:mod:`vault.ingest.ftp`) knows only this interface; the
catalog and audit wiring wraps :class:`StoreSink` (see docs/ftp.md).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from vault import age
from vault.errors import RingfenceError, UsageError
from vault.hashio import HashingWriter
from vault.ids import new_id
from vault.store import BlobStore, BlobWriter

log = logging.getLogger("ringfence.ftp")


@dataclass(frozen=True)
class SealedUpload:
    """A committed upload: its blob in the store, its age header and both hashes.

    ``header + store.open(blob_id).read()`` is an age file for the sink's
    recipients. ``size``/``sha256`` are the plaintext's, ``payload_size``/
    ``payload_sha256`` the stored blob's (as :class:`vault.hashio.Sealing`).
    """

    camera: str
    filename: str
    blob_id: str
    header: bytes
    size: int
    sha256: str
    payload_size: int
    payload_sha256: str
    #: Set by a sink that records the clip (vault.ingest.recording): the clip's
    #: id (the blob's, or the existing clip's for the same bytes again), whether
    #: the media check found it cut short, and whether it was already a clip.
    clip_id: str | None = None
    truncated: bool = False
    duplicate: bool = False


class ClipUpload(Protocol):
    """One upload in progress. Exactly one of ``commit()`` or ``abort()`` ends it."""

    def write(self, data: bytes) -> None:
        """The next bytes of the clip, in order."""

    def commit(self, cut_short: str | None = None) -> SealedUpload:
        """The upload ended: make it durable; raising here refuses the upload.

        *cut_short* says how an upload that did not finish ended (the
        connection lost midway): its bytes are kept, and a sink that records
        clips marks it truncated.
        """

    def abort(self) -> None:
        """The upload did not finish: leave nothing behind. Never raises."""


class ClipSink(Protocol):
    def begin(
        self,
        camera: str,
        filename: str,
        *,
        source: str = "ftp",
        captured_at: datetime | None = None,
    ) -> ClipUpload:
        """Start an upload of *filename* (a safe base name) from *camera*.

        *source* names the receiver ("ftp", "stream"); *captured_at* is the
        capture time when the source knows it (a recorder's first frame),
        else the sink decides (the camera's name pattern, or the arrival time).
        """


class StoreSink:
    """Seals uploads into *store* for *recipients* (the vault's public keys).

    With *intent*, ``begin`` writes the store's intent note for the new blob
    (its bytes from ``intent(blob_id)``) before any payload byte, and ``abort``
    clears it; after ``commit`` the note stays until the caller has recorded
    the clip in the catalog and calls ``store.clear_intent(blob_id)``, so a
    crash in between leaves a blob that recovery knows to delete.
    """

    def __init__(
        self,
        store: BlobStore,
        recipients: list[str],
        *,
        intent: Callable[[str], bytes] | None = None,
        new_id: Callable[[str], str] = new_id,
    ) -> None:
        if not recipients:
            raise UsageError("the FTP receiver needs at least one recipient")
        self._store = store
        self._recipients: list[age.Recipient] = [age.parse_recipient(r) for r in recipients]
        self._intent = intent
        self._new_id = new_id

    def begin(
        self,
        camera: str,
        filename: str,
        *,
        source: str = "ftp",
        captured_at: datetime | None = None,
    ) -> _StoreUpload:
        blob_id = self._new_id("clip")
        if self._intent is not None:
            self._store.write_intent(blob_id, self._intent(blob_id))
        try:
            blob = self._store.writer(blob_id)
        except BaseException:
            if self._intent is not None:
                self._store.clear_intent(blob_id)
            raise
        return _StoreUpload(
            self._store, blob, self._recipients, camera, filename, self._intent is not None
        )


class _StoreUpload:
    def __init__(
        self,
        store: BlobStore,
        blob: BlobWriter,
        recipients: list[age.Recipient],
        camera: str,
        filename: str,
        has_intent: bool,
    ) -> None:
        self._store, self._blob, self._has_intent = store, blob, has_intent
        self._camera, self._filename = camera, filename
        self._payload = HashingWriter(blob)
        self._plain = hashlib.sha256()
        self._size = 0
        self._sealer = age.seal_writer(self._payload, recipients)
        self._done = False

    def write(self, data: bytes) -> None:
        self._sealer.write(data)
        self._plain.update(data)
        self._size += len(data)

    def commit(self, cut_short: str | None = None) -> SealedUpload:
        try:
            self._sealer.close()
            self._blob.commit()
        except BaseException:
            self.abort()
            raise
        self._done = True
        return SealedUpload(
            camera=self._camera,
            filename=self._filename,
            blob_id=self._blob.blob_id,
            header=self._sealer.header,
            size=self._size,
            sha256=self._plain.hexdigest(),
            payload_size=self._payload.count,
            payload_sha256=self._payload.sha256.hexdigest(),
        )

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._sealer.abort()
        self._blob.abort()
        if self._has_intent:
            try:
                self._store.clear_intent(self._blob.blob_id)
            except RingfenceError as exc:
                log.warning("ftp: cannot clear the intent of %s: %s", self._blob.blob_id, exc)
