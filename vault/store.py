"""The blob store: sealed payloads by id, in a fan-out folder.

A blob is written to a temp file inside the store, fsynced, renamed into
place, the folder fsynced, then made read-only. Readers never see a partial
blob under its final name. The store knows nothing of keys or the catalog.

An *intent* is a small durable note, written before a blob whose catalog row
is still to come and removed once that row committed. Recovery deletes only a
blob that has an intent and no row: a blob without an intent was committed
once, whatever a restored catalog says.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from vault.config import STORE_INTENT_DIR, STORE_TMP_DIR
from vault.errors import NotFound, StorageError
from vault.fsutil import (
    AtomicFile,
    ensure_private_dir,
    open_regular,
    storage_error,
    unlink_durably,
    write_atomic,
)

_ID = re.compile(r"^[a-z0-9_]{4,64}$")
#: An intent note is a few dozen bytes; anything larger is not one of ours.
MAX_INTENT = 4096


class BlobWriter:
    """A blob being written; ``commit()`` makes it durable under its id.

    A :class:`vault.fsutil.AtomicFile` whose temp file lives in the store's
    ``tmp`` folder (same filesystem, swept by :meth:`BlobStore.clean_tmp`)
    and whose final file is read-only.
    """

    def __init__(self, store: BlobStore, blob_id: str) -> None:
        self._store = store
        self.blob_id = blob_id
        self._file = AtomicFile(
            store.path(blob_id), readonly=True, tmp_dir=store.tmp_dir, buffering=0
        )
        self.tmp_path = self._file.tmp_path
        self.file: BinaryIO = self._file.file

    @property
    def committed(self) -> bool:
        return self._file.committed

    def write(self, data: bytes | memoryview) -> int:
        """Write all of *data* (the file is unbuffered: one call may take part)."""
        view = memoryview(data).cast("B")
        done = 0
        try:
            while done < len(view):
                n = self.file.write(view[done:])
                if not n:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                done += n
            return done
        except OSError as exc:
            raise storage_error(exc, "cannot write to the store") from exc

    def commit(self) -> Path:
        try:
            ensure_private_dir(self._file.path.parent)
            return self._file.commit()
        except OSError as exc:
            self.abort()
            raise storage_error(exc, "cannot store the sealed clip") from exc

    def abort(self) -> None:
        self._file.abort()

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.committed:
            self.abort()


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp_dir = root / STORE_TMP_DIR
        self.intent_dir = root / STORE_INTENT_DIR
        ensure_private_dir(self.tmp_dir)

    def path(self, blob_id: str) -> Path:
        if not _ID.match(blob_id):
            raise NotFound(f"not a blob id: {blob_id!r}")
        digits = blob_id.split("_", 1)[-1]
        return self.root / digits[:2] / digits[2:4] / blob_id

    def writer(self, blob_id: str) -> BlobWriter:
        try:
            return BlobWriter(self, blob_id)
        except OSError as exc:
            raise storage_error(exc, "cannot write to the store") from exc

    def open(self, blob_id: str) -> BinaryIO:
        try:
            return open(self.path(blob_id), "rb")
        except FileNotFoundError:
            raise NotFound(f"the payload of {blob_id} is missing from the store") from None
        except OSError as exc:
            raise StorageError(f"cannot read {blob_id}: {exc.strerror}") from exc

    def exists(self, blob_id: str) -> bool:
        return self.path(blob_id).exists()

    def delete(self, blob_id: str) -> bool:
        try:
            return unlink_durably(self.path(blob_id))
        except OSError as exc:
            raise storage_error(exc, f"cannot delete {blob_id}") from exc

    def ids(self) -> Iterator[str]:
        for first in sorted(self.root.iterdir()):
            if first in (self.tmp_dir, self.intent_dir) or not first.is_dir():
                continue
            for second in sorted(first.iterdir()):
                for blob in sorted(second.iterdir()):
                    if _ID.match(blob.name):
                        yield blob.name

    def _intent_path(self, blob_id: str) -> Path:
        if not _ID.match(blob_id):
            raise NotFound(f"not a blob id: {blob_id!r}")
        return self.intent_dir / blob_id

    def write_intent(self, blob_id: str, data: bytes) -> None:
        """Durably note that *blob_id* is about to be written (see the module docstring)."""
        ensure_private_dir(self.intent_dir)
        write_atomic(self._intent_path(blob_id), data)

    def clear_intent(self, blob_id: str) -> None:
        try:
            unlink_durably(self._intent_path(blob_id))
        except OSError as exc:
            raise storage_error(exc, f"cannot remove the intent of {blob_id}") from exc

    def intents(self) -> dict[str, bytes]:
        """Every intent note: blob id -> its bytes (at most MAX_INTENT each)."""
        out: dict[str, bytes] = {}
        try:
            names = sorted(os.listdir(self.intent_dir))
        except FileNotFoundError:
            return out
        for name in names:
            if not _ID.match(name):
                continue
            try:
                f = open_regular(self.intent_dir / name)
            except OSError:
                continue  # a symlink, a FIFO, a device: not an intent of ours
            with f:
                out[name] = f.read(MAX_INTENT + 1)
        return out

    def clean_tmp(self) -> int:
        """Remove temp files left by a killed writer; returns how many."""
        removed = 0
        for p in self.tmp_dir.iterdir():
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                removed += 1
        return removed
