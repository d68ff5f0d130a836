"""The push-mode writer: bytes written as they arrive seal to the same layout as pull mode."""

from __future__ import annotations

import hashlib
import io
import os
import random
import subprocess
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from vault import age
from vault.crypto.stream import CHUNK_SIZE, NONCE_SIZE, PayloadWriter
from vault.errors import AgeError, HeaderError, PayloadError

SIZES = [0, 1, 65535, 65536, 65537, 131072, 3 * 1024 * 1024 + 17]
BLOCK = 16 * CHUNK_SIZE


def _pieces(data: bytes, pattern: str, seed: int = 0) -> Iterator[bytes]:
    """*data* cut the way a network upload might deliver it."""
    if pattern == "whole":
        yield data
        return
    if pattern == "chunks":
        step = CHUNK_SIZE
    elif pattern == "blocks":
        step = BLOCK
    else:  # random sizes, from single bytes to more than a block
        rng = random.Random(seed)
        at = 0
        while at < len(data):
            n = rng.choice([1, 7, 1000, CHUNK_SIZE - 1, CHUNK_SIZE + 1, BLOCK + 3])
            yield data[at : at + n]
            at += n
        return
    for at in range(0, len(data), step):
        yield data[at : at + step]


def _payload_len(size: int) -> int:
    return NONCE_SIZE + size + 16 * max(1, -(-size // CHUNK_SIZE))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("pattern", ["whole", "chunks", "blocks", "random"])
def test_push_round_trip(size: int, pattern: str, identity: age.X25519Identity) -> None:
    data = os.urandom(size)
    payload = io.BytesIO()
    with age.seal_writer(payload, [identity.recipient]) as sealer:
        for piece in _pieces(data, pattern, seed=size):
            assert sealer.write(piece) == len(piece)
    assert sealer.closed
    assert len(payload.getvalue()) == _payload_len(size)
    assert age.decrypt_bytes(sealer.header + payload.getvalue(), [identity]) == data


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE, BLOCK, BLOCK + 1, 2 * BLOCK])
def test_same_layout_as_pull_mode(size: int, identity: age.X25519Identity) -> None:
    """Pull-mode seal is a loop over the writer: sizes, header shape and chunk count agree."""
    data = os.urandom(size)
    pulled = io.BytesIO()
    header = age.encrypt_split(io.BytesIO(data), pulled, [identity.recipient])
    pushed = io.BytesIO()
    sealer = age.seal_writer(pushed, [identity.recipient])
    for piece in _pieces(data, "random", seed=3):
        sealer.write(piece)
    sealer.close()
    assert len(header) == len(sealer.header)
    assert len(pulled.getvalue()) == len(pushed.getvalue()) == _payload_len(size)
    for h, p in ((header, pulled), (sealer.header, pushed)):
        assert age.decrypt_bytes(h + p.getvalue(), [identity]) == data


@pytest.mark.parametrize("armor", [False, True])
def test_whole_file_writer(armor: bool, identity: age.X25519Identity) -> None:
    data = os.urandom(CHUNK_SIZE * 3 + 5)
    out = io.BytesIO()
    with age.encrypt_writer(out, [identity.recipient], armor=armor) as sealer:
        for piece in _pieces(data, "random", seed=1):
            sealer.write(piece)
    sealed = out.getvalue()
    assert sealed.startswith(b"-----BEGIN AGE" if armor else b"age-encryption.org/v1\n")
    assert age.decrypt_bytes(sealed, [identity]) == data


@pytest.mark.parametrize("size", [0, 5, CHUNK_SIZE, CHUNK_SIZE + 5, BLOCK, BLOCK + 1, 3 * BLOCK])
def test_nothing_decrypts_before_close(size: int, identity: age.X25519Identity) -> None:
    """Until close(), every byte written is a chunk sealed "not last" (or nothing at all)."""
    data = os.urandom(size)
    payload = io.BytesIO()
    sealer = age.seal_writer(payload, [identity.recipient])
    for piece in _pieces(data, "chunks"):
        sealer.write(piece)
        with pytest.raises((PayloadError, HeaderError)):
            age.decrypt_bytes(sealer.header + payload.getvalue(), [identity])
    sealer.close()
    assert age.decrypt_bytes(sealer.header + payload.getvalue(), [identity]) == data


def test_abort_leaves_a_truncated_stream(identity: age.X25519Identity) -> None:
    payload = io.BytesIO()
    sealer = age.seal_writer(payload, [identity.recipient])
    sealer.write(os.urandom(2 * BLOCK + 100))
    sealer.abort()
    assert len(payload.getvalue()) > BLOCK  # the first blocks went out ...
    with pytest.raises(PayloadError, match="not final|truncated"):  # ... but never as a file
        age.decrypt_bytes(sealer.header + payload.getvalue(), [identity])
    with pytest.raises(AgeError, match="aborted"):
        sealer.write(b"more")
    with pytest.raises(AgeError, match="aborted"):
        sealer.close()
    sealer.abort()  # aborting again is harmless


def test_exception_mid_stream_aborts(identity: age.X25519Identity) -> None:
    payload = io.BytesIO()
    with pytest.raises(RuntimeError), age.seal_writer(payload, [identity.recipient]) as sealer:
        sealer.write(os.urandom(BLOCK + 1))
        raise RuntimeError("the upload broke")
    assert sealer.closed
    with pytest.raises(PayloadError):
        age.decrypt_bytes(sealer.header + payload.getvalue(), [identity])
    with pytest.raises(AgeError):
        sealer.write(b"x")


def test_write_after_close_and_close_twice(identity: age.X25519Identity) -> None:
    payload = io.BytesIO()
    sealer = age.seal_writer(payload, [identity.recipient])
    sealer.write(b"clip")
    sealer.close()
    sealed = payload.getvalue()
    with pytest.raises(AgeError, match="closed"):
        sealer.write(b"more")
    with pytest.raises(AgeError, match="closed"):
        sealer.close()
    assert payload.getvalue() == sealed  # nothing was added by the refused calls
    assert age.decrypt_bytes(sealer.header + sealed, [identity]) == b"clip"


class _FailingSink:
    """Accepts *good* writes, then fails like a full disk."""

    def __init__(self, good: int) -> None:
        self.good = good
        self.out = bytearray()

    def write(self, data: memoryview) -> int:
        if self.good == 0:
            raise OSError(28, "No space left on device")
        self.good -= 1
        self.out += data
        return len(data)


def test_a_failed_write_to_the_sink_ends_the_writer(identity: age.X25519Identity) -> None:
    sink = _FailingSink(good=2)  # the nonce and one block
    sealer = age.seal_writer(sink, [identity.recipient])
    with pytest.raises(OSError):
        sealer.write(os.urandom(3 * BLOCK))
    with pytest.raises(AgeError, match="earlier write failed"):
        sealer.write(b"x")
    with pytest.raises(AgeError, match="earlier write failed"):
        sealer.close()
    with pytest.raises(PayloadError):
        age.decrypt_bytes(sealer.header + bytes(sink.out), [identity])


def test_constant_memory(identity: age.X25519Identity) -> None:
    """32 MiB in uneven pieces never holds more than the writer's fixed buffers."""

    class Hasher:
        def __init__(self) -> None:
            self.sha = hashlib.sha256()

        def write(self, data: memoryview) -> int:
            self.sha.update(data)
            return len(data)

    piece = os.urandom(BLOCK + 12345)
    tracemalloc.start()
    try:
        sealer = age.seal_writer(Hasher(), [identity.recipient])
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(32 * BLOCK // len(piece)):
            sealer.write(piece)
        sealer.close()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak - base < 2 * BLOCK


def test_bad_input_to_the_writer(identity: age.X25519Identity) -> None:
    with pytest.raises(AgeError):
        age.seal_writer(io.BytesIO(), [])
    sealer = PayloadWriter(bytes(16), io.BytesIO())
    with pytest.raises(TypeError):
        sealer.write("text")  # type: ignore[arg-type]


RequireTool = Callable[[str], str]
RequireModule = Callable[[str], ModuleType]


@pytest.mark.parametrize("size", [0, 1, 65536, 65537, BLOCK, BLOCK + 1, 300_000])
def test_age_cli_opens_pushed_files(size: int, tmp_path: Path, require_tool: RequireTool) -> None:
    binary = require_tool("age")
    ident = age.generate_identity()
    data = os.urandom(size)
    payload = io.BytesIO()
    with age.seal_writer(payload, [ident.recipient]) as sealer:
        for piece in _pieces(data, "random", seed=size + 1):
            sealer.write(piece)
    sealed = tmp_path / "f.age"
    sealed.write_bytes(sealer.header + payload.getvalue())
    keys = tmp_path / "keys.txt"
    keys.write_text(f"{ident}\n")
    out = subprocess.run([binary, "-d", "-i", str(keys), str(sealed)], capture_output=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == data


def test_age_cli_refuses_an_aborted_stream(tmp_path: Path, require_tool: RequireTool) -> None:
    binary = require_tool("age")
    ident = age.generate_identity()
    payload = io.BytesIO()
    sealer = age.seal_writer(payload, [ident.recipient])
    sealer.write(os.urandom(2 * BLOCK))
    sealer.write(b"x")
    sealer.abort()
    sealed = tmp_path / "f.age"
    sealed.write_bytes(sealer.header + payload.getvalue())
    keys = tmp_path / "keys.txt"
    keys.write_text(f"{ident}\n")
    out = subprocess.run(
        [binary, "-d", "-i", str(keys), "-o", str(tmp_path / "out"), str(sealed)],
        capture_output=True,
    )
    assert out.returncode != 0


def test_pyrage_opens_pushed_files(require_module: RequireModule) -> None:
    pyrage = require_module("pyrage")
    theirs = pyrage.x25519.Identity.generate()
    ours = age.parse_identity(str(theirs))
    for size in (0, 1, 65536, BLOCK + 1, 200_000):
        data = os.urandom(size)
        for armor in (False, True):
            out = io.BytesIO()
            with age.encrypt_writer(out, [ours.recipient], armor=armor) as sealer:
                for piece in _pieces(data, "random", seed=size):
                    sealer.write(piece)
            assert pyrage.decrypt(out.getvalue(), [theirs]) == data
        payload = io.BytesIO()
        sealer = age.seal_writer(payload, [ours.recipient])
        sealer.write(data)
        sealer.abort()
        with pytest.raises(Exception):  # noqa: B017 - pyrage's own error type
            pyrage.decrypt(sealer.header + payload.getvalue(), [theirs])


@pytest.mark.parametrize("size", [0, BLOCK - 3, BLOCK, 2 * BLOCK + 1])
def test_push_then_pull(size: int, identity: age.X25519Identity) -> None:
    """write() and write_from() mix: the block they share is sealed once, in order."""
    data = os.urandom(size)
    payload = io.BytesIO()
    with age.seal_writer(payload, [identity.recipient]) as sealer:
        sealer.write(b"abc")
        assert sealer.write_from(io.BytesIO(data)) == size
        sealer.write(b"xyz")
    assert len(payload.getvalue()) == _payload_len(size + 6)
    sealed = sealer.header + payload.getvalue()
    assert age.decrypt_bytes(sealed, [identity]) == b"abc" + data + b"xyz"
