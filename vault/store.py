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
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from vault.errors import NotFound, StorageError
from vault.fsutil import ensure_private_dir, fsync_dir, private_mode, storage_error, write_atomic

_ID = re.compile(r"^[a-z0-9_]{4,64}$")
#: An intent note is a few dozen bytes; anything larger is not one of ours.
MAX_INTENT = 4096


class BlobWriter:
    """A blob being written; ``commit()`` makes it durable under its id."""

    def __init__(self, store: BlobStore, blob_id: str) -> None:
        self._store = store
        self.blob_id = blob_id
        self.tmp_path = store.tmp_dir / f"{blob_id}.{secrets.token_hex(4)}.tmp"
        fd = os.open(self.tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, private_mode(0o600))
        self.file: BinaryIO = os.fdopen(fd, "wb", buffering=0)
        self.committed = False

    def write(self, data: bytes | memoryview) -> int:
        try:
            return self.file.write(data) or 0
        except OSError as exc:
            raise storage_error(exc, "cannot write to the store") from exc

    def commit(self) -> Path:
        final = self._store.path(self.blob_id)
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            os.chmod(self.tmp_path, private_mode(0o400))
            ensure_private_dir(final.parent)
            os.replace(self.tmp_path, final)
            fsync_dir(final.parent)
        except OSError as exc:
            self.abort()
            raise storage_error(exc, "cannot store the sealed clip") from exc
        self.committed = True
        return final

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp_path)

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.committed:
            self.abort()


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp_dir = root / "tmp"
        self.intent_dir = root / "intent"
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
        path = self.path(blob_id)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise storage_error(exc, f"cannot delete {blob_id}") from exc
        fsync_dir(path.parent)
        return True

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
        path = self._intent_path(blob_id)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise storage_error(exc, f"cannot remove the intent of {blob_id}") from exc
        fsync_dir(path.parent)

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
                fd = os.open(self.intent_dir / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue
            with os.fdopen(fd, "rb") as f:
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
