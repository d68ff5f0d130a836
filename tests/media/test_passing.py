"""The media check of a clip read once, as its bytes pass (uploads): facts and wholeness."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from demo.synth import clip_bytes
from tests.tools import require_tool
from vault.media import probe_stream
from vault.media.passing import PassingProbe


def passed(data: bytes, chunk: int = 7001):  # type: ignore[no-untyped-def]
    probe = PassingProbe()
    for i in range(0, len(data), chunk):
        probe.feed(data[i : i + chunk])
    return probe.finish()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The same short H.264 clip in each layout a camera writes."""
    ffmpeg = shutil.which("ffmpeg") or require_tool("ffmpeg")
    folder = tmp_path_factory.mktemp("layouts")
    src = folder / "src.mp4"
    src.write_bytes(clip_bytes(seconds=2.0, label="layouts"))
    layouts = {
        "moov-last.mp4": ["-c", "copy"],
        "faststart.mp4": ["-c", "copy", "-movflags", "+faststart"],
        "fragmented.mp4": ["-c", "copy", "-movflags", "frag_keyframe+empty_moov"],
        "clip.mkv": ["-c", "copy"],
        "clip.ts": ["-c", "copy"],
        "clip.avi": ["-c:v", "mjpeg"],
    }
    out = {}
    for name, args in layouts.items():
        subprocess.run(
            [ffmpeg, "-loglevel", "error", "-i", str(src), *args, str(folder / name)], check=True
        )
        out[name] = (folder / name).read_bytes()
    return out


@pytest.mark.parametrize(
    "name", ["moov-last.mp4", "faststart.mp4", "fragmented.mp4", "clip.mkv", "clip.ts", "clip.avi"]
)
def test_a_whole_clip_is_whole_with_the_facts_a_seekable_probe_finds(
    clips: dict[str, bytes], name: str
) -> None:
    data = clips[name]
    for chunk in (1, 4096, 65536, len(data)):
        if chunk == 1 and len(data) > 40_000:
            continue
        got = passed(data, chunk)
        assert got.whole is True, (name, chunk, got.why)
        assert got.facts == probe_stream(io.BytesIO(data), len(data))


@pytest.mark.parametrize(
    "name", ["moov-last.mp4", "faststart.mp4", "fragmented.mp4", "clip.mkv", "clip.ts", "clip.avi"]
)
@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.97])
def test_a_clip_cut_short_is_not_whole(clips: dict[str, bytes], name: str, fraction: float) -> None:
    data = clips[name]
    cut = int(len(data) * fraction)
    if name == "clip.ts":
        cut += 1 if cut % 188 == 0 else 0  # a cut on a packet boundary cannot be seen
    got = passed(data[:cut])
    assert got.whole is False and got.why


def test_an_empty_upload_is_not_whole_and_unknown_bytes_are_not_guessed() -> None:
    assert passed(b"").whole is False
    assert passed(b"just some text, no container at all" * 100).whole is None


def test_hostile_box_sizes_are_bounded() -> None:
    # A box claiming 2**64 bytes, zero-size boxes, a run of tiny boxes: no
    # allocation from a declared size, a bounded walk, an answer.
    huge = b"\x00\x00\x00\x01ftyp" + (2**64 - 1).to_bytes(8, "big") + b"isom" * 10
    assert passed(huge).whole is False
    tiny = b"\x00\x00\x00\x08free" * 10_000
    got = passed(tiny)
    assert got.whole is False and "too many" in got.why
    bad = b"\x00\x00\x00\x04ftyp" + b"\x00" * 100
    assert passed(bad).whole is False


def test_the_kept_pieces_are_bounded(clips: dict[str, bytes]) -> None:
    data = clips["moov-last.mp4"]
    padded = data + b"\x00\x00\x00\x10free" + b"\x00" * 8  # a trailing box still tiles
    probe = PassingProbe()
    for i in range(0, len(padded), 1000):
        probe.feed(padded[i : i + 1000])
    assert probe.finish().whole is True
    assert len(probe._head) <= 1 << 20 and len(probe._moov) <= 4 << 20


def test_a_file_on_disk_and_its_upload_agree(tmp_path: Path, clips: dict[str, bytes]) -> None:
    path = tmp_path / "c.mp4"
    path.write_bytes(clips["faststart.mp4"])
    with path.open("rb") as f:
        assert passed(path.read_bytes()).facts == probe_stream(f, path.stat().st_size)
