"""tui.widgets.frame.still_frame: the preview's first frame, or None, never an exception."""

from __future__ import annotations

import sys
from typing import cast

import pytest

from demo import synth
from tui.widgets.frame import still_frame

CODECS = synth.available_codecs()
needs_encoder = pytest.mark.skipif(not CODECS, reason="no encoder for synthetic clips here")


@pytest.fixture
def no_pyav(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `import av` fail, as on an install without the media extra."""
    monkeypatch.setitem(sys.modules, "av", None)


@pytest.mark.parametrize("codec", CODECS)
def test_still_frame_has_the_clip_size(codec: str) -> None:
    pytest.importorskip("av")
    image = still_frame(synth.clip_bytes(width=160, height=96, seconds=0.5, codec=codec))
    assert image is not None
    assert image.size == (160, 96)
    # The overlay is burnt in: the top-left band is dark with light text on it.
    darkest, lightest = cast(tuple[int, int], image.crop((0, 0, 100, 12)).convert("L").getextrema())
    assert darkest < 60 and lightest > 180


@pytest.mark.parametrize("data", [b"", b"not a clip", b"\0\0\0\x18ftypisom" + bytes(100)])
def test_still_frame_of_garbage_is_none(data: bytes) -> None:
    assert still_frame(data) is None


@needs_encoder
def test_still_frame_without_pyav_is_none(no_pyav: None) -> None:
    pytest.importorskip("PIL.Image")
    assert still_frame(synth.clip_bytes(codec="mjpeg", seconds=0.2)) is None
