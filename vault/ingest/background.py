"""Sealing beside the network: an upload whose writes run in a thread of their own.

The FTP receiver reads every connection in one thread. Sealing a clip as it
arrives (hashing the plaintext, encrypting each chunk, hashing and writing
the ciphertext) would otherwise run in that thread too, so every connection
would wait for it and the network would idle while the disk works.
:class:`BackgroundUpload` wraps any :class:`ClipUpload`: ``write`` hands the
bytes to the upload's own sealing thread and returns; ``commit`` waits until
every byte is sealed, then commits. The primitives release the GIL
(OpenSSL's ChaCha20-Poly1305, hashlib, file writes), so receiving and
sealing run on two cores at once.

Memory stays bounded: at most ``limit`` bytes wait for the sealing thread;
a write beyond that waits until the thread has caught up. A failure in the
sealing thread (a full disk) is raised by the next ``write`` or by
``commit``; ``abort`` stops the thread, drops what waits and aborts the
inner upload, so nothing is left behind.
"""

from __future__ import annotations

import threading
from collections import deque

from vault.errors import RingfenceError
from vault.ingest.ftp_sink import ClipUpload, SealedUpload

#: Bytes received and not yet sealed, at most (per upload).
DEFAULT_LIMIT = 8 << 20


class SealingFailed(RingfenceError):
    """The sealing thread stopped on an error that was not a RingfenceError."""


class BackgroundUpload:
    """A :class:`ClipUpload` whose ``write`` calls run in a sealing thread (module docstring)."""

    def __init__(self, inner: ClipUpload, *, limit: int = DEFAULT_LIMIT) -> None:
        self._inner = inner
        self._limit = limit
        self._chunks: deque[bytes] = deque()
        self._waiting = 0  # bytes in _chunks
        self._cond = threading.Condition()
        self._closing = False  # no more writes: the thread ends once _chunks is empty
        self._stop = False  # abort: the thread ends now
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="ringfence-seal", daemon=True)
        self._thread.start()

    def write(self, data: bytes) -> None:
        if not data:
            return
        chunk = bytes(data)
        with self._cond:
            self._raise_failure()
            # Wait for room; a chunk larger than the limit waits for an empty queue.
            while self._waiting and self._waiting + len(chunk) > self._limit:
                self._cond.wait()
                self._raise_failure()
            self._chunks.append(chunk)
            self._waiting += len(chunk)
            self._cond.notify_all()

    def commit(self, cut_short: str | None = None) -> SealedUpload:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join()
        if self._error is not None:
            self._inner.abort()
            self._raise_failure()
        if cut_short is None:
            return self._inner.commit()
        return self._inner.commit(cut_short=cut_short)

    def abort(self) -> None:
        with self._cond:
            self._stop = True
            self._chunks.clear()
            self._waiting = 0
            self._cond.notify_all()
        self._thread.join()
        self._inner.abort()  # after a commit, a no-op

    def _raise_failure(self) -> None:
        exc = self._error
        if exc is None:
            return
        if isinstance(exc, RingfenceError):
            raise exc
        raise SealingFailed(f"sealing the upload failed ({type(exc).__name__})") from None

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._chunks and not self._closing and not self._stop:
                    self._cond.wait()
                if self._stop or not self._chunks:
                    return
                chunk = self._chunks.popleft()
            try:
                self._inner.write(chunk)
            except BaseException as exc:  # handed to the receiving thread
                with self._cond:
                    self._error = exc
                    self._chunks.clear()
                    self._waiting = 0
                    self._cond.notify_all()
                return
            with self._cond:
                if not self._stop:  # abort() already emptied the count
                    self._waiting -= len(chunk)
                self._cond.notify_all()
