"""probe() on clips from demo.synth, and on paths and streams that are not clips at all."""

from __future__ import annotations

import io
import os
import struct
import sys
from pathlib import Path

import pytest

from demo import synth
from tests.tools import require_reachable_by_others, require_tool
from vault.media import MediaFacts, probe, probe_stream

CODECS = synth.available_codecs()


def top_level_boxes(data: bytes) -> list[bytes]:
    kinds, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        kinds.append(kind)
        pos += size
    return kinds


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize(
    ("seconds", "width", "height", "fps"), [(2.0, 320, 240, 10), (1.3, 176, 144, 15)]
)
def test_probe_matches_what_write_clip_wrote(
    tmp_path: Path, codec: str, seconds: float, width: int, height: int, fps: int
) -> None:
    path = tmp_path / "front-door.mp4"
    synth.write_clip(path, seconds=seconds, width=width, height=height, fps=fps, codec=codec)
    facts = probe(path)
    assert (facts.container, facts.width, facts.height, facts.codec) == (
        "mp4",
        width,
        height,
        codec,
    )
    assert facts.duration_s == pytest.approx(seconds, abs=1.5 / fps)


def test_best_codec_clip_is_probed_as_that_codec(tmp_path: Path) -> None:
    if not CODECS:
        pytest.skip("no encoder for synthetic clips here")
    synth.write_clip(tmp_path / "clip.mp4")
    assert probe(tmp_path / "clip.mp4").codec == CODECS[0]


@pytest.mark.skipif("h264" not in CODECS, reason="needs an H.264 encoder")
def test_pyav_clips_have_moov_after_mdat_and_hand_written_ones_before() -> None:
    # Both layouts are exercised on real files: the camera-like one needs a seek.
    assert top_level_boxes(synth.clip_bytes(codec="h264"))[1:] == [b"free", b"mdat", b"moov"]
    if "mjpeg" in CODECS:
        assert top_level_boxes(synth.clip_bytes(codec="mjpeg"))[1:] == [b"moov", b"mdat"]


def test_probe_of_missing_file_directory_and_empty_file(tmp_path: Path) -> None:
    assert probe(tmp_path / "missing.mp4") == MediaFacts()
    assert probe(tmp_path) == MediaFacts()
    (tmp_path / "empty.mp4").write_bytes(b"")
    assert probe(tmp_path / "empty.mp4") == MediaFacts()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_probe_does_not_block_on_a_fifo(tmp_path: Path) -> None:
    import threading

    fifo = tmp_path / "clip.mp4"
    os.mkfifo(fifo)
    got: list[MediaFacts] = []
    worker = threading.Thread(target=lambda: got.append(probe(fifo)), daemon=True)
    worker.start()
    # Nothing ever writes to the FIFO: a probe that opened it to read would
    # wait forever. The bound only turns such a hang into a failure.
    worker.join(60)
    assert not worker.is_alive(), "probe blocked on a FIFO"
    assert got == [MediaFacts()]


_PROBE_AS_OTHER = """
import sys
from vault.media import MediaFacts, probe
print(probe(sys.argv[1]) == MediaFacts())
"""


@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX permissions")
def test_probe_of_unreadable_file(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        path = tmp_path / "clip.mp4"
        path.write_bytes(synth.clip_bytes() if CODECS else b"\0\0\0\x08ftyp")
        path.chmod(0)
        assert probe(path) == MediaFacts()
        return
    # Root reads any file: the probe runs as another user, who can reach the
    # folder (pytest's own are root's alone) but not read the file.
    import shutil
    import subprocess
    import tempfile

    require_tool("setpriv")
    root = Path(__file__).resolve().parents[2]
    require_reachable_by_others(sys.executable, root / "vault")
    folder = Path(tempfile.mkdtemp(prefix="rf-unreadable-", dir="/tmp"))
    folder.chmod(0o755)
    path = folder / "clip.mp4"
    path.write_bytes(synth.clip_bytes() if CODECS else b"\0\0\0\x08ftyp")
    path.chmod(0)
    done = subprocess.run(
        [
            "setpriv",
            "--reuid=40010",
            "--regid=40010",
            "--clear-groups",
            "--",
            sys.executable,
            "-c",
            _PROBE_AS_OTHER,
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root,
        env={
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(root),
            "PYTHONDONTWRITEBYTECODE": "1",
        },
    )
    shutil.rmtree(folder)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


class FailingStream(io.RawIOBase):
    def __init__(self, data: bytes, fail_after: int) -> None:
        self.inner, self.fail_after = io.BytesIO(data), fail_after

    def readable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.inner.seek(offset, whence)

    def read(self, n: int = -1) -> bytes:
        self.fail_after -= 1
        if self.fail_after < 0:
            raise OSError("disk went away")
        return self.inner.read(n)


class TrickleStream(FailingStream):
    """Returns one byte per read, as a pipe or a slow network file system might."""

    def read(self, n: int = -1) -> bytes:
        return self.inner.read(min(1, n))


@pytest.mark.skipif(not CODECS, reason="no encoder for synthetic clips here")
def test_stream_errors_keep_what_was_read_before() -> None:
    data = synth.clip_bytes()
    assert probe_stream(FailingStream(data, 0), len(data)) == MediaFacts()  # type: ignore[arg-type]
    partial = probe_stream(FailingStream(data, 1), len(data))  # type: ignore[arg-type]
    assert partial.container == "mp4"
    assert partial.width is None


@pytest.mark.skipif(not CODECS, reason="no encoder for synthetic clips here")
def test_short_reads_are_retried() -> None:
    data = synth.clip_bytes(seconds=0.5)
    assert probe_stream(TrickleStream(data, 0), len(data)) == probe_stream(  # type: ignore[arg-type]
        io.BytesIO(data), len(data)
    )


def test_negative_or_zero_size_reads_nothing() -> None:
    data = b"\0\0\0\x10ftypisom\0\0\0\0"
    assert probe_stream(io.BytesIO(data), -1) == MediaFacts()
    assert probe_stream(io.BytesIO(data), 0) == MediaFacts()


def test_text_stream_is_not_a_clip() -> None:
    assert probe_stream(io.StringIO("hello"), 5) == MediaFacts()  # type: ignore[arg-type]


def test_media_facts_is_frozen_and_hashable() -> None:
    facts = MediaFacts("mp4", 1.0, 2, 3, "h264")
    with pytest.raises(AttributeError):
        facts.width = 5  # type: ignore[misc]
    assert hash(facts) == hash(MediaFacts("mp4", 1.0, 2, 3, "h264"))
