"""Cutting, stripping sound and adding a wall-clock track by remuxing (PyAV).

Everything here copies coded packets (no re-encode) into a new MP4 that has
**no hidden frames**: every video packet written is shown. ffmpeg's ``-ss …
-c copy`` keeps the packets before the cut inside the file and hides them
behind an edit list; a player that ignores edit lists shows them. Here the
packets before the keyframe at or before the window are never written, the
timestamps are moved so the first frame is at 0, and the muxer is told not
to write an edit list at all.

Only the first video stream and (unless removed) the first audio stream are
written: data tracks, extra subtitles and the container's own metadata (which
may carry a location) are dropped. Times inside a file are counted from its
first video frame, which is the clip's capture time.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

from vault.errors import RingfenceError

#: PyAV muxer options: never write an edit list (they can hide frames).
MUXER_OPTIONS = {"use_editlist": "0"}
#: The time base of the wall-clock track: milliseconds.
TEXT_TIME_BASE = Fraction(1, 1000)
# mov_text needs a style header to open; the one ffmpeg gives SRT input.
_TEXT_HEADER = (
    b"[Script Info]\nScriptType: v4.00+\nPlayResX: 384\nPlayResY: 288\n\n[V4+ Styles]\n"
    b"Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
    b"BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
    b"BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
    b"Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,"
    b"10,0\n\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, "
    b"Effect, Text\n"
)


class MediaError(RingfenceError):
    """A clip cannot be read, cut or written as a video."""


class MediaUnavailable(MediaError):
    """The media library (PyAV) is not installed."""


def _av() -> Any:
    try:
        import av
    except ImportError:
        raise MediaUnavailable(
            "cutting and minimising exports needs PyAV: pip install 'ringfence[media]' "
            "(or approve with --whole-clips to release the original files)"
        ) from None
    return av


@dataclass(frozen=True)
class VideoPacket:
    pts: int
    dts: int
    key: bool
    duration: int


@dataclass(frozen=True)
class Index:
    """A video's packets in decode order (times in *time_base*, from *origin*)."""

    time_base: Fraction
    packets: tuple[VideoPacket, ...]
    origin: int  # the first frame's pts: time 0 of the clip
    has_audio: bool

    def seconds(self, pts: int) -> Fraction:
        return (pts - self.origin) * self.time_base

    @property
    def end(self) -> Fraction:
        return max((self.seconds(p.pts + p.duration) for p in self.packets), default=Fraction(0))


@dataclass(frozen=True)
class Span:
    """The packets a cut keeps: decode positions *first*..*last* (inclusive),
    shown from *start* to *end* (seconds of the clip), *frames* in all."""

    first: int
    last: int
    start: Fraction
    end: Fraction
    frames: int
    exact: bool = False


def _open(src: Path | IO[bytes]) -> Any:
    av = _av()
    try:
        return av.open(src if not isinstance(src, Path) else str(src), "r")
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"not a video ringfence can read ({exc.__class__.__name__})") from None


def read_index(src: Path | IO[bytes]) -> Index:
    """The packet index of the first video stream of *src* (nothing is decoded)."""
    av = _av()
    with _open(src) as box:
        if not box.streams.video:
            raise MediaError("the file has no video stream")
        v = box.streams.video[0]
        raw: list[tuple[int, int, bool, int]] = []
        try:
            for p in box.demux(v):
                if p.size == 0 or p.pts is None:
                    continue
                raw.append(
                    (
                        p.pts,
                        p.dts if p.dts is not None else p.pts,
                        bool(p.is_keyframe),
                        p.duration or 0,
                    )
                )
        except av.error.FFmpegError as exc:
            raise MediaError(f"the video cannot be read ({exc.__class__.__name__})") from None
        if not raw or v.time_base is None:
            raise MediaError("the video stream has no frames")
        packets = _with_durations(raw)
        return Index(
            Fraction(v.time_base),
            tuple(packets),
            min(p.pts for p in packets),
            bool(box.streams.audio),
        )


def _with_durations(raw: list[tuple[int, int, bool, int]]) -> list[VideoPacket]:
    """Packets whose duration is missing get the gap to the next frame shown."""
    shown = sorted({r[0] for r in raw})
    gaps = [b - a for a, b in zip(shown, shown[1:], strict=False)]
    typical = sorted(gaps)[len(gaps) // 2] if gaps else 1
    out = []
    for pts, dts, key, dur in raw:
        if dur <= 0:
            i = bisect.bisect_right(shown, pts)
            dur = shown[i] - pts if i < len(shown) else typical
        out.append(VideoPacket(pts, dts, key, max(dur, 1)))
    return out


def remux_span(index: Index, start: Fraction, end: Fraction) -> Span:
    """The packets a remux cut to [*start*, *end*) keeps: from the keyframe at or
    before *start*, up to the last packet shown before *end* (in decode order,
    so every kept frame can be decoded)."""
    pk = index.packets
    first = 0
    for i, p in enumerate(pk):
        if p.key and index.seconds(p.pts) <= start:
            first = i
    if not pk[first].key:
        raise MediaError("the video does not start with a keyframe")
    key_pts = pk[first].pts
    last = first
    for i in range(first, len(pk)):
        if index.seconds(pk[i].pts) < end:
            last = i
    kept = [p for p in pk[first : last + 1] if p.pts >= key_pts]
    return Span(
        first,
        last,
        index.seconds(key_pts),
        max(index.seconds(p.pts + p.duration) for p in kept),
        len(kept),
    )


def exact_span(index: Index, start: Fraction, end: Fraction) -> Span:
    """The frames an exact cut to [*start*, *end*) shows (decoded from the
    keyframe at or before *start*, re-encoded from the first frame in it)."""
    decodable = remux_span(index, start, end)
    shown = sorted(
        (
            p
            for p in index.packets[decodable.first : decodable.last + 1]
            if start <= index.seconds(p.pts) < end
        ),
        key=lambda p: p.pts,
    )
    if not shown:
        raise MediaError("no frame of the clip lies inside the window")
    ends = [index.seconds(p.pts + p.duration) for p in shown]
    return Span(
        decodable.first,
        decodable.last,
        index.seconds(shown[0].pts),
        max(ends),
        len(shown),
        exact=True,
    )


def _text_sample(text: str) -> bytes:
    data = text.encode("utf-8")
    return len(data).to_bytes(2, "big") + data


def clock_lines(start: datetime, duration: Fraction) -> Iterator[tuple[int, int, str]]:
    """(start ms, end ms, text) of the wall-clock track: one line per second."""
    from vault.transform.plan import instant

    total_ms = int(-(-duration * 1000 // 1))
    at = 0
    while at < total_ms:
        stop = min(at + 1000, total_ms)
        yield at, stop, instant(start + timedelta(milliseconds=at))
        at = stop


def remux(
    src: Path,
    dst: Path,
    *,
    span: Span | None = None,
    audio: bool = True,
    clock_start: datetime | None = None,
    index: Index | None = None,
) -> int:
    """Copy *src* into a new MP4 *dst*: only the packets of *span* (all of them
    without one), with or without sound, and with a wall-clock subtitle track
    from *clock_start* when given. Returns the number of video frames written.
    *index*: the packet index of *src*, when the caller has read it already.
    """
    av = _av()
    index = index or read_index(src)
    if span is None:
        span = Span(0, len(index.packets) - 1, Fraction(0), index.end, len(index.packets))
    if span.exact:
        raise ValueError("an exact span is re-encoded (reencode_cut), not remuxed")
    key_pts = index.packets[span.first].pts
    with _open(src) as box:
        v_in = box.streams.video[0]
        a_in = box.streams.audio[0] if audio and box.streams.audio else None
        try:
            out = av.open(str(dst), "w", format="mp4", options=MUXER_OPTIONS)
        except (av.error.FFmpegError, OSError) as exc:
            raise MediaError(f"cannot write {dst.name} ({exc})") from None
        try:
            v_out = out.add_stream_from_template(v_in)
            a_out = out.add_stream_from_template(a_in) if a_in is not None else None
            t_out = _text_stream(out) if clock_start is not None else None
            shift = span.start  # seconds: the first kept frame is shown at 0
            written = 0
            pos = -1
            # Per stream, in its own time base (integers, not Fractions, per packet):
            # the shift that puts the first kept frame at 0, and the sound kept.
            origin = index.origin * index.time_base
            bounds: dict[int, tuple[int, int, int]] = {}
            for st in (v_in, a_in):
                if st is not None:
                    tb = Fraction(st.time_base)
                    bounds[st.index] = (
                        int((shift + origin) / tb),
                        -(-(span.start + origin) // tb),
                        -(-(span.end + origin) // tb),
                    )
            sound_done = a_in is None
            for p in box.demux(*(s for s in (v_in, a_in) if s is not None)):
                if p.size == 0 or p.pts is None:
                    continue
                offset, lo, hi = bounds[p.stream.index]
                if p.stream.type == "video":
                    pos += 1
                    if pos < span.first:
                        continue
                    if pos > span.last:
                        if sound_done:
                            break  # nothing after the window is read further
                        continue
                    if p.pts < key_pts:
                        continue  # a leading frame of an open GOP: not decodable here
                    written += 1
                    p.stream = v_out
                else:
                    if p.pts >= hi:
                        sound_done = True
                        if pos >= span.last:
                            break
                        continue
                    if p.pts < lo:
                        continue
                    p.stream = a_out
                p.pts -= offset
                if p.dts is not None:
                    p.dts -= offset
                out.mux(p)
            if t_out is not None and clock_start is not None:
                _write_clock(av, out, t_out, clock_start, span.end - span.start)
        except av.error.FFmpegError as exc:
            raise MediaError(f"cannot remux the clip ({exc.__class__.__name__}: {exc})") from None
        finally:
            out.close()
    if written != span.frames:
        raise MediaError(f"the cut wrote {written} frames where {span.frames} were planned")
    return written


def reencode_cut(
    src: Path,
    dst: Path,
    span: Span,
    *,
    audio: bool = True,
    clock_start: datetime | None = None,
    index: Index | None = None,
) -> int:
    """Decode *src* from the keyframe of *span* and re-encode (H.264) exactly the
    frames shown inside it into *dst*; sound packets inside it are copied.
    Returns the number of video frames written."""
    av = _av()
    index = index or read_index(src)
    with _open(src) as box:
        v_in = box.streams.video[0]
        a_in = box.streams.audio[0] if audio and box.streams.audio else None
        out = av.open(str(dst), "w", format="mp4", options=MUXER_OPTIONS)
        try:
            try:
                v_out = out.add_stream("libx264", rate=v_in.average_rate or 25)
            except (av.error.FFmpegError, ValueError):
                raise MediaError(
                    "an exact cut needs the libx264 encoder, which this PyAV "
                    "lacks: approve without --exact"
                ) from None
            v_out.width, v_out.height = v_in.codec_context.width, v_in.codec_context.height
            v_out.pix_fmt = "yuv420p"
            v_out.time_base = v_in.time_base
            v_out.codec_context.time_base = v_in.time_base
            v_out.options = {"preset": "veryfast", "crf": "20", "bf": "0"}
            a_out = out.add_stream_from_template(a_in) if a_in is not None else None
            t_out = _text_stream(out) if clock_start is not None else None
            origin_s = index.origin * index.time_base
            first_pts = int(span.start / index.time_base) + index.origin
            written = 0
            pos = -1
            for p in box.demux(*(s for s in (v_in, a_in) if s is not None)):
                if p.stream.type == "video":
                    if p.size == 0:
                        frames = p.decode()  # flushing packet
                    else:
                        pos += 1
                        if pos < span.first:
                            continue
                        frames = p.decode() if pos <= span.last else []
                    for frame in frames:
                        if frame.pts is None:
                            continue
                        at = frame.pts * index.time_base - origin_s
                        if at < span.start or at >= span.end or written >= span.frames:
                            continue
                        fresh = frame.reformat(format="yuv420p")
                        fresh.pts = frame.pts - first_pts
                        fresh.time_base = v_in.time_base
                        written += 1
                        for q in v_out.encode(fresh):
                            out.mux(q)
                elif a_out is not None and p.size and p.pts is not None:
                    tb = Fraction(p.time_base)
                    at = p.pts * tb - origin_s
                    if span.start <= at < span.end:
                        offset = int((span.start + origin_s) / tb)
                        p.pts -= offset
                        if p.dts is not None:
                            p.dts -= offset
                        p.stream = a_out
                        out.mux(p)
            for q in v_out.encode(None):
                out.mux(q)
            if t_out is not None and clock_start is not None:
                _write_clock(av, out, t_out, clock_start, span.end - span.start)
        except av.error.FFmpegError as exc:
            raise MediaError(
                f"cannot re-encode the clip ({exc.__class__.__name__}: {exc})"
            ) from None
        finally:
            out.close()
    if written != span.frames:
        raise MediaError(f"the cut wrote {written} frames where {span.frames} were planned")
    return written


def _text_stream(out: Any) -> Any:
    t_out = out.add_stream("mov_text")
    t_out.codec_context.subtitle_header = _TEXT_HEADER
    t_out.time_base = TEXT_TIME_BASE
    return t_out


def _write_clock(av: Any, out: Any, t_out: Any, start: datetime, duration: Fraction) -> None:
    for begin, stop, text in clock_lines(start, duration):
        pkt = av.Packet(_text_sample(text))
        pkt.pts = pkt.dts = begin
        pkt.duration = stop - begin
        pkt.time_base = TEXT_TIME_BASE
        pkt.stream = t_out
        out.mux(pkt)
