"""demo.synth: real playable clips, atomic and slow writers, fallbacks."""

from __future__ import annotations

import io
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import pytest

from demo import synth
from tui.video import frames_at
from vault.media import probe, probe_stream

CODECS = synth.available_codecs()
needs_encoder = pytest.mark.skipif(not CODECS, reason="no encoder for synthetic clips here")


@pytest.fixture
def no_pyav(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `import av` fail, as on an install without the media extra."""
    monkeypatch.setitem(sys.modules, "av", None)


@pytest.fixture
def no_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)
    monkeypatch.setitem(sys.modules, "PIL.Image", None)


# --- write_clip ----------------------------------------------------------------------------


@needs_encoder
def test_atomic_write_renames_a_hidden_temp_into_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "cam1.mp4"
    seen: list[tuple[str, bool, int]] = []
    real_replace = synth.os.replace

    def spy(src: str | Path, dst: str | Path) -> None:
        seen.append((Path(src).name, target.exists(), Path(src).stat().st_size))
        real_replace(src, dst)

    monkeypatch.setattr(synth.os, "replace", spy)
    synth.write_clip(target, label="cam1")
    [(temp_name, existed, temp_size)] = seen
    assert temp_name.startswith(".cam1.mp4.") and temp_name.endswith(".part")
    assert not existed  # nothing under the final name until the clip is whole
    assert temp_size == target.stat().st_size
    assert [p.name for p in tmp_path.iterdir()] == ["cam1.mp4"]


def test_failed_atomic_write_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(out: object, options: object) -> None:
        out.write(b"half a clip")  # type: ignore[attr-defined]
        raise RuntimeError("encoder died")

    monkeypatch.setattr(synth, "_encode", broken)
    with pytest.raises(RuntimeError, match="encoder died"):
        synth.write_clip(tmp_path / "cam1.mp4")
    assert list(tmp_path.iterdir()) == []


@needs_encoder
def test_non_atomic_write_goes_straight_to_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(synth.os, "replace", None)  # would fail if used
    synth.write_clip(tmp_path / "cam1.mp4", atomic=False)
    assert [p.name for p in tmp_path.iterdir()] == ["cam1.mp4"]
    assert probe(tmp_path / "cam1.mp4").container == "mp4"


@needs_encoder
def test_write_clip_and_clip_bytes_agree_and_are_deterministic(tmp_path: Path) -> None:
    synth.write_clip(tmp_path / "a.mp4", seconds=1.0, label="Porch", seed=4)
    data = synth.clip_bytes(seconds=1.0, label="Porch", seed=4)
    assert (tmp_path / "a.mp4").read_bytes() == data
    assert synth.clip_bytes(seconds=1.0, label="Porch", seed=5) != data
    assert synth.clip_bytes(seconds=1.0, label="Garage", seed=4) != data
    assert synth.clip_bytes(seconds=1.0, label="Porch", seed=4, start=datetime(2025, 6, 1)) != data


@pytest.mark.parametrize(
    "kwargs",
    [
        {"width": 321},
        {"height": 8},
        {"width": 8192},
        {"fps": 0},
        {"fps": 2.5},
        {"seconds": 0},
        {"seconds": float("nan")},
        {"codec": "vp9"},
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        synth.clip_bytes(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("codec", CODECS)
def test_each_codec_makes_a_clip_of_the_right_length(codec: str) -> None:
    data = synth.clip_bytes(seconds=0.5, fps=8, width=96, height=64, codec=codec)
    facts = probe_stream(io.BytesIO(data), len(data))
    assert (facts.codec, facts.width, facts.height) == (codec, 96, 64)
    assert facts.duration_s == pytest.approx(0.5, abs=0.13)


def test_odd_row_padding_and_tiny_frames() -> None:
    if "h264" not in CODECS and "mpeg4" not in CODECS:
        pytest.skip("needs a PyAV encoder")
    # 3 * 34 bytes per row is not a multiple of FFmpeg's alignment: rows get padded.
    [frame] = frames_at(synth.clip_bytes(seconds=0.1, width=34, height=16), [0.0], (34, 16))
    assert frame.image.size == (34, 16)


# --- encoder choice and fallbacks ------------------------------------------------------------


def test_without_pyav_the_fallback_is_mjpeg_written_by_hand(no_pyav: None) -> None:
    pytest.importorskip("PIL.Image")
    assert synth.available_codecs() == ["mjpeg"]
    data = synth.clip_bytes(seconds=1.0, width=64, height=48)
    facts = probe_stream(io.BytesIO(data), len(data))
    assert (facts.container, facts.codec, facts.width, facts.height) == ("mp4", "mjpeg", 64, 48)
    assert facts.duration_s == pytest.approx(1.0)


def test_without_pyav_or_pillow_a_clear_error(no_pyav: None, no_pillow: None) -> None:
    assert synth.available_codecs() == []
    with pytest.raises(RuntimeError, match=r"ringfence\[media\]"):
        synth.clip_bytes()
    with pytest.raises(RuntimeError):
        synth.clip_bytes(codec="h264")


def test_a_failing_h264_encoder_falls_back_to_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    if "h264" not in CODECS or "mpeg4" not in CODECS:
        pytest.skip("needs both PyAV encoders")
    real = synth._encode_pyav

    def flaky(out: BinaryIO, options: object, encoder: str) -> None:
        if encoder != "mpeg4":
            out.write(b"garbage from a dying encoder")
            raise ValueError("no h264 today")
        real(out, options, encoder)  # type: ignore[arg-type]

    monkeypatch.setattr(synth, "_encode_pyav", flaky)
    data = synth.clip_bytes(seconds=0.5)
    assert data.startswith(b"\0\0\0") and b"garbage" not in data
    assert probe_stream(io.BytesIO(data), len(data)).codec == "mpeg4"


# --- write_clip_slowly ---------------------------------------------------------------------


def test_slow_writer_keeps_the_file_open_and_growing(tmp_path: Path) -> None:
    path = tmp_path / "cam1.mp4"
    data = bytes(range(256)) * 40
    sizes: list[int] = []
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        sizes.append(path.stat().st_size)  # what a watcher sees mid-write

    synth.write_clip_slowly(path, data, seconds=2.0, chunks=4, sleep=sleep)
    assert path.read_bytes() == data
    assert sizes == [2560, 5120, 7680, 10240]
    assert sum(pauses) == pytest.approx(2.0)


def test_slow_writer_really_sleeps(tmp_path: Path) -> None:
    started = time.monotonic()
    synth.write_clip_slowly(tmp_path / "x.mp4", b"abc", seconds=0.1, chunks=2)
    assert time.monotonic() - started >= 0.09
    assert (tmp_path / "x.mp4").read_bytes() == b"abc"


def test_slow_writer_refuses_zero_chunks(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        synth.write_clip_slowly(tmp_path / "x.mp4", b"abc", seconds=1.0, chunks=0)
