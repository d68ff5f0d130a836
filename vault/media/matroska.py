"""Matroska and WebM: the DocType, then Segment → Info (duration) and Tracks (first video track).

Only the first :data:`_MKV_HEAD` bytes are searched; Info or Tracks written
later in the file are reached through the SeekHead, at most
:data:`_MKV_SEEK_CAP` bytes each.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from vault.media.common import Facts, Source, fourcc_codec, tag

_MKV_HEAD = 1024 * 1024  # Matroska: the part of the file searched for Info/Tracks
_MKV_SEEK_CAP = 512 * 1024  # Matroska: most bytes read for one element found via SeekHead

_EBML = 0x1A45DFA3
_DOCTYPE = 0x4282
_SEGMENT = 0x18538067
_SEEKHEAD, _SEEK, _SEEK_ID, _SEEK_POSITION = 0x114D9B74, 0x4DBB, 0x53AB, 0x53AC
_INFO, _TIMECODE_SCALE, _DURATION = 0x1549A966, 0x2AD7B1, 0x4489
_TRACKS, _TRACK_ENTRY, _TRACK_TYPE = 0x1654AE6B, 0xAE, 0x83
_CODEC_ID, _CODEC_PRIVATE = 0x86, 0x63A2
_VIDEO, _PIXEL_WIDTH, _PIXEL_HEIGHT = 0xE0, 0xB0, 0xBA
_CLUSTER = 0x1F43B675

_MKV_CODECS = {
    "V_MPEG4/ISO/AVC": "h264",
    "V_MPEGH/ISO/HEVC": "hevc",
    "V_MJPEG": "mjpeg",
    "V_VP8": "vp8",
    "V_VP9": "vp9",
    "V_AV1": "av1",
    "V_MPEG4/ISO/SP": "mpeg4",
    "V_MPEG4/ISO/ASP": "mpeg4",
    "V_MPEG4/ISO/AP": "mpeg4",
    "V_PRORES": "prores",
}


def _vint(buf: bytes, pos: int, end: int, *, keep_marker: bool) -> tuple[int | None, int] | None:
    """An EBML variable-size integer at ``pos``: (value or None if "unknown", length)."""
    if pos >= end or buf[pos] == 0:
        return None
    length = 9 - buf[pos].bit_length()
    if pos + length > end:
        return None
    value = int.from_bytes(buf[pos : pos + length], "big")
    if keep_marker:
        return value, length
    value &= (1 << (7 * length)) - 1
    return (None if value == (1 << (7 * length)) - 1 else value), length


def _elements(buf: bytes, start: int, end: int, src: Source) -> Iterator[tuple[int, int, int]]:
    """(id, data start, data end) of each EBML element in ``buf[start:end]``.

    An element of unknown size (live recordings) runs to ``end``; one running
    past ``end`` is cut off there. Each element advances at least two bytes.
    """
    end = min(end, len(buf))
    pos = start
    while pos < end and src.take():
        ident = _vint(buf, pos, end, keep_marker=True)
        if ident is None or ident[1] > 4 or ident[0] is None:
            return
        size = _vint(buf, pos + ident[1], end, keep_marker=False)
        if size is None:
            return
        data = pos + ident[1] + size[1]
        stop = end if size[0] is None else min(data + size[0], end)
        yield ident[0], data, stop
        pos = stop if size[0] is None else data + size[0]


def _ebml_uint(buf: bytes, start: int, end: int) -> int | None:
    return int.from_bytes(buf[start:end], "big") if 0 < end - start <= 8 else None


def _ebml_float(buf: bytes, start: int, end: int) -> float | None:
    if end - start == 4:
        return float(struct.unpack(">f", buf[start:end])[0])
    if end - start == 8:
        return float(struct.unpack(">d", buf[start:end])[0])
    return None


def parse(src: Source, head: bytes, facts: Facts) -> None:
    """EBML header DocType, then Segment → Info (duration) and Tracks (first video track)."""
    buf = src.read(0, _MKV_HEAD) if src.size > len(head) else head
    doctype_seen = False
    for ident, start, end in _elements(buf, 0, len(buf), src):
        if ident == _EBML:
            for child, s, e in _elements(buf, start, end, src):
                if child == _DOCTYPE:
                    doctype_seen = True
                    facts.container = "webm" if buf[s:e].rstrip(b"\x00") == b"webm" else "matroska"
        elif ident == _SEGMENT:
            if not doctype_seen:
                facts.container = "matroska"  # DocType's default
            _parse_segment(buf, start, end, src, facts)
            return


def _parse_segment(buf: bytes, start: int, end: int, src: Source, facts: Facts) -> None:
    found: set[int] = set()
    seeks: list[tuple[int, int]] = []
    for ident, s, e in _elements(buf, start, end, src):
        if ident == _INFO:
            _parse_info(buf, s, e, src, facts)
        elif ident == _TRACKS:
            _parse_tracks(buf, s, e, src, facts)
        elif ident == _SEEKHEAD and not seeks:
            seeks = _parse_seekhead(buf, s, e, src)
        elif ident == _CLUSTER:
            break
        found.add(ident)
        if {_INFO, _TRACKS} <= found:
            return
    # Info or Tracks lies beyond what was read (e.g. written at the end): follow the SeekHead.
    for ident, position in seeks:
        if ident in found or ident not in (_INFO, _TRACKS):
            continue
        found.add(ident)
        at = start + position
        header = src.read(at, 12)
        ident_at = _vint(header, 0, len(header), keep_marker=True)
        if ident_at is None or ident_at[0] != ident:
            continue
        size = _vint(header, ident_at[1], len(header), keep_marker=False)
        if size is None or size[0] is None:
            continue
        body = src.read(at + ident_at[1] + size[1], min(size[0], _MKV_SEEK_CAP))
        parse = _parse_info if ident == _INFO else _parse_tracks
        parse(body, 0, len(body), src, facts)


def _parse_seekhead(buf: bytes, start: int, end: int, src: Source) -> list[tuple[int, int]]:
    seeks = []
    for ident, s, e in _elements(buf, start, end, src):
        if ident != _SEEK:
            continue
        target, position = None, None
        for child, cs, ce in _elements(buf, s, e, src):
            if child == _SEEK_ID:
                target = _ebml_uint(buf, cs, ce)
            elif child == _SEEK_POSITION:
                position = _ebml_uint(buf, cs, ce)
        if target is not None and position is not None:
            seeks.append((target, position))
    return seeks


def _parse_info(buf: bytes, start: int, end: int, src: Source, facts: Facts) -> None:
    scale: int | None = 1_000_000  # nanoseconds per tick, the spec's default
    duration = None
    for ident, s, e in _elements(buf, start, end, src):
        if ident == _TIMECODE_SCALE:
            scale = _ebml_uint(buf, s, e)
        elif ident == _DURATION:
            duration = _ebml_float(buf, s, e)
    if duration is not None and scale:
        facts.duration_s = duration * scale / 1e9


def _parse_tracks(buf: bytes, start: int, end: int, src: Source, facts: Facts) -> None:
    for ident, s, e in _elements(buf, start, end, src):
        if ident != _TRACK_ENTRY:
            continue
        track_type, codec_id, private = None, None, b""
        width = height = None
        for child, cs, ce in _elements(buf, s, e, src):
            if child == _TRACK_TYPE:
                track_type = _ebml_uint(buf, cs, ce)
            elif child == _CODEC_ID:
                codec_id = tag(buf[cs : min(ce, cs + 64)])
            elif child == _CODEC_PRIVATE:
                private = buf[cs : min(ce, cs + 20)]
            elif child == _VIDEO:
                track_type = 1 if track_type is None else track_type
                for video_child, vs, ve in _elements(buf, cs, ce, src):
                    if video_child == _PIXEL_WIDTH:
                        width = _ebml_uint(buf, vs, ve)
                    elif video_child == _PIXEL_HEIGHT:
                        height = _ebml_uint(buf, vs, ve)
        if track_type != 1:
            continue
        facts.width, facts.height = width, height
        if codec_id == "V_MS/VFW/FOURCC" and len(private) >= 20:
            facts.codec = fourcc_codec(private[16:20])  # BITMAPINFOHEADER.biCompression
        elif codec_id is not None:
            facts.codec = _MKV_CODECS.get(codec_id, codec_id)
        return
