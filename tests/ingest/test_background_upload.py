"""BackgroundUpload: the FTP receiver's sealing thread, with a real store and the real age writer."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from vault import age
from vault.errors import StorageError
from vault.ingest.background import BackgroundUpload
from vault.ingest.ftp_sink import SealedUpload, StoreSink
from vault.store import BlobStore


def _sink(tmp_path: Path) -> tuple[StoreSink, BlobStore, age.X25519Identity]:
    identity = age.generate_identity()
    store = BlobStore(tmp_path / "store")
    return StoreSink(store, [str(identity.recipient)]), store, identity


def _blobs(store: BlobStore) -> list[Path]:
    return [p for p in store.root.rglob("*") if p.is_file()]


@pytest.mark.parametrize("size", [0, 1, 64 * 1024, 64 * 1024 + 1, 3 * 1024 * 1024 + 7])
def test_bytes_written_in_pieces_seal_to_the_same_clip(tmp_path: Path, size: int) -> None:
    sink, store, identity = _sink(tmp_path)
    data = os.urandom(size)
    # A small limit makes the writer wait for the sealing thread many times.
    upload = BackgroundUpload(sink.begin("front", "a.mp4"), limit=100_000)
    for offset in range(0, size, 50_000):
        upload.write(data[offset : offset + 50_000])
    sealed = upload.commit()
    assert sealed.size == size
    assert sealed.sha256 == hashlib.sha256(data).hexdigest()
    payload = store.path(sealed.blob_id).read_bytes()
    assert hashlib.sha256(payload).hexdigest() == sealed.payload_sha256
    assert age.decrypt_bytes(sealed.header + payload, [identity]) == data


def test_abort_leaves_nothing(tmp_path: Path) -> None:
    sink, store, _identity = _sink(tmp_path)
    upload = BackgroundUpload(sink.begin("front", "a.mp4"))
    upload.write(os.urandom(200_000))
    upload.abort()
    assert _blobs(store) == []


class _FailingUpload:
    """An inner upload whose disk fills after the first write."""

    def __init__(self) -> None:
        self.writes = 0
        self.aborted = threading.Event()

    def write(self, data: bytes) -> None:
        self.writes += 1
        if self.writes > 1:
            raise StorageError("cannot write to the store: no space left on the device")

    def commit(self, cut_short: str | None = None) -> SealedUpload:
        raise AssertionError("a failed upload must not be committed")

    def abort(self) -> None:
        self.aborted.set()


def test_a_failure_in_the_sealing_thread_reaches_the_writer_and_commit(tmp_path: Path) -> None:
    inner = _FailingUpload()
    upload = BackgroundUpload(inner, limit=10)
    upload.write(b"a" * 10)
    with pytest.raises(StorageError, match="no space left"):
        # The second chunk fails in the thread; a later write or the commit says so.
        for _ in range(1000):
            upload.write(b"b" * 10)
    with pytest.raises(StorageError, match="no space left"):
        upload.commit()
    assert inner.aborted.is_set()
