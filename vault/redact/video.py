"""Re-encode a video with its privacy masks filled and, when asked, faces blurred.

Every frame is decoded (PyAV), changed in memory and encoded again with
libx264; the frames keep their timestamps, and audio and subtitle streams (the
wall-clock track) are copied packet for packet. The input is a clip the owner
approved, already decrypted into the export's private staging folder; the
output goes next to it. Nothing here decides what may be released: the
export job passes the masks and the blur the owner signed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault.errors import RingfenceError, UsageError
from vault.redact.regions import FILL_RGB, FILL_YUV, MaskRect, filled_box

if TYPE_CHECKING:
    from vault.redact.faces import FaceBlur

#: The encoder and its settings: near-transparent quality, a fast preset.
CODEC = "libx264"
X264_OPTIONS = {"preset": "veryfast", "crf": "20"}

FrameProgress = Callable[[int, int], None]  # (frames done, frames expected or 0)


class RedactError(RingfenceError):
    """The video could not be decoded or re-encoded."""


@dataclass(frozen=True)
class Redacted:
    """What :func:`redact` wrote: frame count, picture size, the codec used,
    and how many frames had at least one face blurred."""

    frames: int
    width: int
    height: int
    codec: str
    frames_with_faces: int


def _av() -> Any:
    try:
        import av
        import numpy  # noqa: F401  (frames become numpy arrays)
    except ImportError:
        raise UsageError(
            "masks and face blurring re-encode the video and need PyAV and numpy: "
            "pip install 'ringfence[media]'"
        ) from None
    return av


def redact(
    src: Path,
    dst: Path,
    *,
    masks: Sequence[MaskRect] = (),
    blur: FaceBlur | None = None,
    progress: FrameProgress | None = None,
) -> Redacted:
    """Write *src* to *dst* (a new MP4) with *masks* filled and faces blurred by *blur*.

    Raises RedactError when the video cannot be decoded or encoded; *dst* is
    then left for the caller's staging folder to discard.
    """
    av = _av()
    try:
        with av.open(str(src)) as inp:
            if not inp.streams.video:
                raise RedactError(f"{src.name} has no video stream to redact")
            return _run(av, inp, dst, masks, blur, progress)
    except av.error.FFmpegError as exc:
        raise RedactError(f"cannot re-encode {src.name}: {exc.strerror or exc}") from None


def _run(
    av: Any,
    inp: Any,
    dst: Path,
    masks: Sequence[MaskRect],
    blur: FaceBlur | None,
    progress: FrameProgress | None,
) -> Redacted:
    vin = inp.streams.video[0]
    width, height = vin.codec_context.width, vin.codec_context.height
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise RedactError(f"cannot re-encode a {width}x{height} picture: H.264 needs even sides")
    boxes = [filled_box(m, width, height) for m in masks]
    expected = vin.frames or 0
    with av.open(str(dst), "w", format="mp4") as out:
        vout = out.add_stream(CODEC, rate=vin.average_rate or vin.guessed_rate or 25)
        vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
        vout.time_base = vin.time_base
        vout.options = dict(X264_OPTIONS)
        copies = {}
        for s in inp.streams:
            if s.type in ("audio", "subtitle") and s is not vin:
                copies[s.index] = out.add_stream_from_template(s)
        done = faced = 0
        for packet in inp.demux(vin, *[inp.streams[i] for i in copies]):
            if packet.stream.index in copies:
                if packet.dts is None:
                    continue
                packet.stream = copies[packet.stream.index]
                out.mux(packet)
                continue
            for frame in packet.decode():
                changed, had_faces = _change(av, frame, boxes, blur)
                changed.pts, changed.time_base = frame.pts, frame.time_base
                out.mux(vout.encode(changed))
                done += 1
                faced += had_faces
                if progress:
                    progress(done, expected)
        out.mux(vout.encode(None))
    if done == 0:
        raise RedactError("the video has no frame to re-encode")
    return Redacted(done, width, height, CODEC, faced)


def _change(
    av: Any, frame: Any, boxes: list[tuple[int, int, int, int]], blur: FaceBlur | None
) -> tuple[Any, bool]:
    """The frame with faces blurred (first) and masks filled (last, so a blur
    can never reach into a mask)."""
    if blur is not None:
        rgb = frame.to_ndarray(format="rgb24")
        had = blur.apply(rgb)
        for x0, y0, x1, y1 in boxes:
            rgb[y0:y1, x0:x1] = FILL_RGB
        return av.VideoFrame.from_ndarray(rgb, format="rgb24"), had
    # Masks only: fill the planes directly, with no colour conversion to round.
    yuv = frame.to_ndarray(format="yuv420p")
    h = yuv.shape[0] * 2 // 3
    w = yuv.shape[1]
    u = yuv[h : h + h // 4].reshape(h // 2, w // 2)
    v = yuv[h + h // 4 :].reshape(h // 2, w // 2)
    for x0, y0, x1, y1 in boxes:
        yuv[y0:y1, x0:x1] = FILL_YUV[0]
        u[y0 // 2 : (y1 + 1) // 2, x0 // 2 : (x1 + 1) // 2] = FILL_YUV[1]
        v[y0 // 2 : (y1 + 1) // 2, x0 // 2 : (x1 + 1) // 2] = FILL_YUV[2]
    return av.VideoFrame.from_ndarray(yuv, format="yuv420p"), False
