"""ISO BMFF (MP4, MOV, 3GP, fragmented MP4): duration, picture size and codec from 'moov'.

The top-level boxes are walked by seeking (past 'mdat'), and only the first
:data:`_MOOV_CAP` bytes of 'moov' are parsed, along the fixed path
moov → trak → mdia → minf → stbl → stsd.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from vault.media.common import Facts, Source, fourcc_codec, u16, u32, u64

_MOOV_CAP = 4 * 1024 * 1024  # the part of an ISO BMFF 'moov' box that is parsed
_MAX_TOP_BOXES = 4096  # ISO BMFF: top-level boxes skipped while looking for 'moov'

_QUICKTIME_FIRST = frozenset({b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"})
TOP_LEVEL = _QUICKTIME_FIRST | {b"ftyp", b"styp", b"moof", b"sidx", b"pdin"}


def _boxes(buf: bytes, start: int, end: int, src: Source) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in ``buf[start:end]``.

    Every box advances at least 8 bytes and costs one element of the budget,
    so a run of bad or zero-sized boxes ends quickly. A box running past
    ``end`` is cut off there (the file is truncated or lying).
    """
    end = min(end, len(buf))
    pos = start
    while pos + 8 <= end and src.take():
        size = u32(buf, pos)
        kind = buf[pos + 4 : pos + 8]
        header = 8
        if size == 1:
            if pos + 16 > end:
                return
            size = u64(buf, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header:
            return
        yield kind, pos + header, min(pos + size, end)
        pos += size


def parse(src: Source, head: bytes, facts: Facts) -> None:
    """Walk the top-level boxes (seeking past 'mdat') to 'ftyp' and 'moov'."""
    offset = 0
    for index in range(_MAX_TOP_BOXES):
        header = src.read(offset, 16)
        if len(header) < 8:
            return
        size, kind = u32(header, 0), header[4:8]
        header_len = 8
        if size == 1:
            if len(header) < 16:
                return
            size, header_len = u64(header, 8), 16
        elif size == 0:
            size = src.size - offset
        if size < header_len:
            return
        if index == 0 and kind in _QUICKTIME_FIRST:
            facts.container = "mov"  # QuickTime files predate 'ftyp'
        if kind == b"ftyp":
            brand = src.read(offset + header_len, 4)
            facts.container = "mov" if brand == b"qt  " else "mp4"
        elif kind == b"moov":
            moov = src.read(offset + header_len, min(size - header_len, _MOOV_CAP))
            _parse_moov(moov, src, facts)
            return
        offset += size
        if offset >= src.size:
            return


@dataclass
class _Track:
    handler: bytes = b""
    width: int = 0
    height: int = 0
    timescale: int = 0
    duration: int | None = None
    sample_entry: bytes = b""
    entry_width: int = 0
    entry_height: int = 0


def _parse_moov(buf: bytes, src: Source, facts: Facts) -> None:
    timescale, duration, fragment_duration = 0, None, None
    video: _Track | None = None
    for kind, start, end in _boxes(buf, 0, len(buf), src):
        if kind == b"mvhd":
            timescale, duration = _time_header(buf, start, end)
        elif kind == b"trak" and video is None:
            track = _parse_trak(buf, start, end, src)
            if track.handler == b"vide":
                video = track
        elif kind == b"mvex":
            for child, cstart, cend in _boxes(buf, start, end, src):
                if child == b"mehd":
                    fragment_duration = _mehd(buf, cstart, cend)
    if timescale and duration:
        facts.duration_s = duration / timescale
    elif timescale and fragment_duration:
        facts.duration_s = fragment_duration / timescale
    elif video is not None and video.timescale and video.duration:
        facts.duration_s = video.duration / video.timescale
    if video is None:
        return
    facts.width = video.width or video.entry_width or None
    facts.height = video.height or video.entry_height or None
    facts.codec = fourcc_codec(video.sample_entry) if video.sample_entry else None


def _time_header(buf: bytes, start: int, end: int) -> tuple[int, int | None]:
    """(timescale, duration) of an 'mvhd' or 'mdhd'; duration None if unknown."""
    if start >= end:
        return 0, None
    if buf[start] == 1:
        if end - start < 32:
            return 0, None
        timescale, duration = u32(buf, start + 20), u64(buf, start + 24)
        unknown = 0xFFFF_FFFF_FFFF_FFFF
    else:
        if end - start < 20:
            return 0, None
        timescale, duration = u32(buf, start + 12), u32(buf, start + 16)
        unknown = 0xFFFF_FFFF
    return timescale, (None if duration == unknown else duration)


def _mehd(buf: bytes, start: int, end: int) -> int | None:
    if start >= end:
        return None
    if buf[start] == 1:
        return u64(buf, start + 4) if end - start >= 12 else None
    return u32(buf, start + 4) if end - start >= 8 else None


def _parse_trak(buf: bytes, start: int, end: int, src: Source) -> _Track:
    track = _Track()
    for kind, s, e in _boxes(buf, start, end, src):
        if kind == b"tkhd":
            # width and height are 16.16 fixed point, after a version-sized time block
            at = s + (88 if buf[s : s + 1] == b"\x01" else 76)
            if e - at >= 8:
                track.width = (u32(buf, at) + 0x8000) >> 16
                track.height = (u32(buf, at + 4) + 0x8000) >> 16
        elif kind == b"mdia":
            _parse_mdia(buf, s, e, src, track)
    return track


def _parse_mdia(buf: bytes, start: int, end: int, src: Source, track: _Track) -> None:
    for kind, s, e in _boxes(buf, start, end, src):
        if kind == b"hdlr" and e - s >= 12:
            track.handler = buf[s + 8 : s + 12]  # ISO handler_type / QuickTime subtype
        elif kind == b"mdhd":
            track.timescale, track.duration = _time_header(buf, s, e)
        elif kind == b"minf":
            for minf_kind, ms, me in _boxes(buf, s, e, src):
                if minf_kind == b"stbl":
                    for stbl_kind, ss, se in _boxes(buf, ms, me, src):
                        if stbl_kind == b"stsd":
                            _parse_stsd(buf, ss, se, src, track)


def _parse_stsd(buf: bytes, start: int, end: int, src: Source, track: _Track) -> None:
    """The first sample entry: its fourcc names the codec; visual entries carry a size."""
    for kind, s, e in _boxes(buf, start + 8, end, src):  # skip version/flags, entry_count
        track.sample_entry = kind
        if e - s >= 28:
            track.entry_width, track.entry_height = u16(buf, s + 24), u16(buf, s + 26)
        return
