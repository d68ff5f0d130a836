"""Hashing while streaming: one pass over the bytes both moves and hashes them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from vault import age


class HashingReader:
    """Reads from a binary file and hashes what passes through."""

    def __init__(self, src: Any) -> None:
        self._src = src
        self.sha256 = hashlib.sha256()
        self.count = 0

    def readinto(self, buf: Any) -> int:
        n = self._src.readinto(buf) or 0
        if n:
            self.sha256.update(memoryview(buf)[:n])
            self.count += n
        return n

    def read(self, size: int = -1) -> bytes:
        data = self._src.read(size) or b""
        self.sha256.update(data)
        self.count += len(data)
        return bytes(data)


class HashingWriter:
    """Writes to a sink and hashes what passes through."""

    def __init__(self, sink: Any) -> None:
        self._sink = sink
        self.sha256 = hashlib.sha256()
        self.count = 0

    def write(self, data: Any) -> int:
        """Write all of *data*: a sink that takes part of it (an unbuffered
        file may) is called again with the rest, never left short."""
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            n = self._sink.write(view[done:])
            if n is None:  # a buffered sink takes everything or raises
                n = len(view) - done
            if n <= 0:
                raise OSError(f"the sink took no bytes of {len(view) - done}")
            done += n
        self.sha256.update(view)
        self.count += len(view)
        return len(view)

    def flush(self) -> None:
        flush = getattr(self._sink, "flush", None)
        if flush is not None:
            flush()


@dataclass(frozen=True)
class Sealing:
    """What sealing a stream produced: the age header and both hashes."""

    header: bytes
    size: int
    sha256: str
    payload_size: int
    payload_sha256: str


def seal_stream(src: Any, payload_sink: Any, recipients: list[str]) -> Sealing:
    """Encrypt *src* to *recipients*, writing the payload to *payload_sink*.

    The plaintext and the payload are hashed on the way through, so the clip
    is read exactly once.
    """
    reader = HashingReader(src)
    writer = HashingWriter(payload_sink)
    header = age.encrypt_split(cast(BinaryIO, reader), cast(BinaryIO, writer), recipients)
    return Sealing(
        header=header,
        size=reader.count,
        sha256=reader.sha256.hexdigest(),
        payload_size=writer.count,
        payload_sha256=writer.sha256.hexdigest(),
    )
