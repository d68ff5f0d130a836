"""Decoding a decrypted clip's frames in memory, at the size they are shown.

The preview's player and the request screen's strip both decode with PyAV
from the clip's bytes in memory (an ``io.BytesIO``: no file, no pipe to
another process). Frames are scaled by FFmpeg as they are decoded, so a
1280×720 clip shown in 60×40 half-blocks keeps 60×80 pixels per frame, not
a megabyte; a memory budget lowers the size further for long clips.
Nothing here touches the terminal or Textual.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL.Image import Image

FRAME_BUDGET = 96 << 20
"""Bytes of decoded frames one preview may hold (RGB, 3 bytes a pixel)."""


@dataclass(frozen=True)
class Facts:
    """What the clip's container says about its pictures and sound."""

    width: int
    height: int
    duration_s: float
    fps: float
    frames: int
    """Frames in the video stream, as the container counts them (estimated if it does not)."""
    has_audio: bool


@dataclass(frozen=True)
class Frame:
    """One decoded frame: its time from the clip's start and its picture."""

    t: float
    image: Image


class DecodeError(Exception):
    """The clip has no video stream PyAV can decode (or PyAV is missing)."""


def fit(src: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """*src* scaled to fit in *box*, keeping its aspect ratio; even sizes, at least 2×2."""
    sw, sh = src
    bw, bh = box
    if sw <= 0 or sh <= 0 or bw <= 0 or bh <= 0:
        return (2, 2)
    scale = min(bw / sw, bh / sh)
    return (max(2, int(sw * scale) // 2 * 2), max(2, int(sh * scale) // 2 * 2))


def within_budget(
    size: tuple[int, int], frames: int, budget: int = FRAME_BUDGET
) -> tuple[int, int]:
    """*size* lowered (aspect kept) until *frames* of it fit in *budget* bytes."""
    w, h = size
    per_frame = max(1, budget // max(1, frames))
    if w * h * 3 <= per_frame:
        return size
    scale = (per_frame / (w * h * 3)) ** 0.5
    return fit(size, (max(2, int(w * scale)), max(2, int(h * scale))))


def _open(data: bytes) -> Any:
    try:
        import av
    except ImportError:
        raise DecodeError("playing clips needs PyAV and Pillow (the media extra)") from None
    try:
        container = av.open(io.BytesIO(data), mode="r")
    except Exception as exc:  # noqa: BLE001 - PyAV raises many kinds for bad input
        raise DecodeError(f"not a clip PyAV can read ({type(exc).__name__})") from None
    if not container.streams.video:
        container.close()
        raise DecodeError("the clip has no video stream")
    return container


def facts(data: bytes) -> Facts:
    """The clip's picture size, length, frame rate, frame count and whether it has sound."""
    container = _open(data)
    try:
        return _facts(container)
    finally:
        container.close()


def _facts(container: Any) -> Facts:
    stream = container.streams.video[0]
    rate = float(stream.average_rate or stream.guessed_rate or 0) or 10.0
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / 1_000_000
    else:
        duration = 0.0
    frames = int(stream.frames or round(duration * rate) or 1)
    width = stream.codec_context.width or 0
    height = stream.codec_context.height or 0
    return Facts(width, height, max(0.0, duration), rate, frames, bool(container.streams.audio))


def decode(
    data: bytes,
    box: tuple[int, int],
    on_frame: Callable[[Frame], None],
    stop: threading.Event | None = None,
    *,
    budget: int = FRAME_BUDGET,
) -> Facts:
    """Decode every frame of *data*, scaled to fit *box* pixels, calling *on_frame*
    with each in order; returns the clip's facts. Stops early when *stop* is set.

    Raises DecodeError when the clip cannot be decoded at all; a clip damaged
    part way stops at the damage with the frames before it delivered.
    """
    container = _open(data)
    try:
        info = _facts(container)
        size = within_budget(
            fit((info.width or box[0], info.height or box[1]), box), info.frames, budget
        )
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        start = None
        try:
            for frame in container.decode(stream):
                if stop is not None and stop.is_set():
                    break
                t = float(frame.time) if frame.time is not None else 0.0
                start = t if start is None else start
                on_frame(Frame(max(0.0, t - start), frame.to_image(width=size[0], height=size[1])))
        except Exception as exc:  # noqa: BLE001 - damage part way: keep what was decoded
            if start is None:
                raise DecodeError(f"no frame could be decoded ({type(exc).__name__})") from None
        if start is None:
            raise DecodeError("the clip has no decodable frame")
        return info
    finally:
        container.close()


def frames_at(data: bytes, times: Sequence[float], box: tuple[int, int]) -> list[Frame]:
    """The frames nearest to each of *times* (seconds from the clip's start), scaled
    to fit *box*: the strip's thumbnails. Decodes from the nearest keyframe before
    each time, so a long clip is not decoded in full."""
    container = _open(data)
    out: list[Frame] = []
    try:
        info = _facts(container)
        size = fit((info.width or box[0], info.height or box[1]), box)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tb = stream.time_base
        start = float(stream.start_time * tb) if stream.start_time is not None and tb else 0.0
        for want in times:
            if tb and want > 0:
                container.seek(
                    int((start + want) / tb), stream=stream, backward=True, any_frame=False
                )
            best = None
            try:
                for frame in container.decode(stream):
                    best = frame
                    if (frame.time or 0.0) - start >= want - 1e-6:
                        break
            except Exception:  # noqa: BLE001, S110 - damage: take what was found
                pass
            if best is not None:
                t = float(best.time or 0.0) - start
                out.append(Frame(max(0.0, t), best.to_image(width=size[0], height=size[1])))
    finally:
        container.close()
    return out
