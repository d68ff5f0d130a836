"""Sealing through a sink that takes part of each write loses no byte."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
from pathlib import Path

from tests.tools import require_tool
from vault import age
from vault.hashio import HashingWriter, seal_stream
from vault.store import BlobStore


class Trickle(io.RawIOBase):
    """A real raw sink that takes at most seven bytes a call, as a raw file may."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        chunk = bytes(memoryview(b)[:7])  # type: ignore[arg-type]
        self.data += chunk
        return len(chunk)


def test_a_short_writing_sink_gets_every_byte_and_the_hash_matches() -> None:
    identity = age.generate_identity()
    plain = os.urandom(200_000)
    sink = Trickle()
    sealing = seal_stream(io.BytesIO(plain), sink, [str(identity.recipient)])
    assert sealing.payload_size == len(sink.data)
    assert sealing.payload_sha256 == hashlib.sha256(sink.data).hexdigest()
    out = io.BytesIO()
    age.decrypt(io.BytesIO(sealing.header + bytes(sink.data)), out, [identity])
    assert out.getvalue() == plain


def test_the_writer_refuses_a_sink_that_takes_nothing() -> None:
    class Stuck(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b: object) -> int:
            return 0

    writer = HashingWriter(Stuck())
    try:
        writer.write(b"abc")
    except OSError as exc:
        assert "took no bytes" in str(exc)
    else:
        raise AssertionError("a sink taking nothing was not refused")


def test_a_blob_sealed_into_the_store_opens_with_age(tmp_path: Path) -> None:
    tool = require_tool("age")
    identity = age.generate_identity()
    key = tmp_path / "key.txt"
    key.write_text(str(identity) + "\n")
    plain = os.urandom(300_000)
    store = BlobStore(tmp_path / "store")
    with store.writer("clp_" + "a" * 26) as blob:
        sealing = seal_stream(io.BytesIO(plain), blob, [str(identity.recipient)])
        blob.commit()
    whole = sealing.header + store.path("clp_" + "a" * 26).read_bytes()
    out = subprocess.run(
        [tool, "-d", "-i", str(key)], input=whole, capture_output=True, check=True, timeout=60
    )
    assert out.stdout == plain
