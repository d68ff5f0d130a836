"""Media facts (container, duration, size, codec) read from a clip's own bytes.

The ingest pipeline records these facts for every clip it seals, so this module
is pure Python and needs nothing beyond the standard library: the daemon must
run without PyAV. It reads headers, never decodes pictures.

Clips come from cameras, half-written files and whatever else lands in a drop
folder, so every input is treated as hostile. :func:`probe_stream` never
raises, reads at most :data:`MAX_READ` bytes, looks at no more than
:data:`MAX_ELEMENTS` boxes or elements, never allocates from a size the file
declares, and never recurses: each format is walked along a fixed path of
known parents. Anything unreadable is reported as ``None``.

Codecs are reported by family name (``"h264"``, ``"hevc"``, ``"mpeg4"``,
``"mjpeg"``, ``"vp8"``, ``"vp9"``, ``"av1"``, ``"prores"``) whatever tag the
container uses for them; an unknown tag is reported as it appears in the file.
See docs/media.md.
"""

from __future__ import annotations

import math
import os
import stat
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = ["MAX_ELEMENTS", "MAX_READ", "MediaFacts", "probe", "probe_stream"]

MAX_READ = 8 * 1024 * 1024
"""Most bytes one probe reads from a clip, whatever the clip declares."""

MAX_ELEMENTS = 20_000
"""Most boxes, elements or chunks one probe looks at."""

_HEAD = 64 * 1024  # bytes read up front to recognise the container
_MOOV_CAP = 4 * 1024 * 1024  # the part of an ISO BMFF 'moov' box that is parsed
_MKV_HEAD = 1024 * 1024  # Matroska: the part of the file searched for Info/Tracks
_MKV_SEEK_CAP = 512 * 1024  # Matroska: most bytes read for one element found via SeekHead
_RIFF_HEAD = 1024 * 1024  # AVI: the part of the file searched for the header list
_JPEG_HEAD = 256 * 1024  # JPEG: the part searched for the frame header (EXIF comes first)
_MAX_TOP_BOXES = 4096  # ISO BMFF: top-level boxes skipped while looking for 'moov'
_MAX_SECONDS = 10 * 366 * 86400.0  # a duration beyond ten years is a lie


@dataclass(frozen=True, slots=True)
class MediaFacts:
    """What the clip's headers say about it; ``None`` where they say nothing usable.

    ``width``/``height`` and ``codec`` describe the first video track;
    ``duration_s`` is the whole presentation.
    """

    container: str | None = None
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    codec: str | None = None


def probe(path: Path) -> MediaFacts:
    """Facts about the clip at ``path``; empty facts if it cannot be opened or read.

    Only regular files are read: a FIFO or device in a drop folder must not
    block or feed the ingest loop forever.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except (OSError, ValueError):
        return MediaFacts()
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return MediaFacts()
        with os.fdopen(fd, "rb", buffering=0) as f:
            fd = -1  # now owned by f
            return probe_stream(f, st.st_size)
    except (OSError, ValueError):
        return MediaFacts()
    finally:
        if fd >= 0:
            os.close(fd)


def probe_stream(f: BinaryIO, size: int) -> MediaFacts:
    """Facts about the ``size`` bytes readable from the seekable stream ``f``.

    Never raises: a failing stream, garbage or a truncated file give ``None``
    for whatever could not be read, keeping whatever was read before.
    """
    facts = _Facts()
    try:
        src = _Source(f, size)
        head = src.read(0, _HEAD)
        kind = _sniff(head)
        if kind is None:
            return facts.freeze()
        container, parse = kind
        facts.container = container
        if parse is not None:
            parse(src, head, facts)
    except Exception:  # noqa: BLE001 - the contract is "never raise"; keep what was read
        return facts.freeze()
    return facts.freeze()


# --- shared plumbing -------------------------------------------------------------------


class _Facts:
    """Mutable facts filled in while parsing, so a failure midway keeps earlier findings."""

    def __init__(self) -> None:
        self.container: str | None = None
        self.duration_s: float | None = None
        self.width: int | None = None
        self.height: int | None = None
        self.codec: str | None = None

    def freeze(self) -> MediaFacts:
        return MediaFacts(
            container=self.container,
            duration_s=_sane_duration(self.duration_s),
            width=_sane_dimension(self.width),
            height=_sane_dimension(self.height),
            codec=self.codec,
        )


def _sane_duration(value: float | None) -> float | None:
    if value is None or not math.isfinite(value) or not 0.0 <= value <= _MAX_SECONDS:
        return None
    return float(value)


def _sane_dimension(value: int | None) -> int | None:
    if value is None or not 0 < value <= 65535:
        return None
    return int(value)


class _Source:
    """Positioned reads from a stream, within the file size and the read budget."""

    def __init__(self, f: BinaryIO, size: int) -> None:
        self._f = f
        self.size = size if isinstance(size, int) and size > 0 else 0
        self._left = MAX_READ
        self.elements = MAX_ELEMENTS

    def read(self, offset: int, n: int) -> bytes:
        """Up to ``n`` bytes at ``offset``; fewer at the end of the file or budget."""
        n = min(n, self.size - offset, self._left)
        if offset < 0 or n <= 0:
            return b""
        self._f.seek(offset)
        parts: list[bytes] = []
        got = 0
        while got < n:
            chunk = self._f.read(n - got)
            if not isinstance(chunk, bytes | bytearray) or not chunk:
                break
            parts.append(bytes(chunk))
            got += len(chunk)
        self._left -= got
        return b"".join(parts)[:n]

    def take(self) -> bool:
        """Count one more box or element; False once the budget is spent."""
        self.elements -= 1
        return self.elements >= 0


def _u16(buf: bytes, pos: int) -> int:
    return int.from_bytes(buf[pos : pos + 2], "big")


def _u32(buf: bytes, pos: int) -> int:
    return int.from_bytes(buf[pos : pos + 4], "big")


def _u64(buf: bytes, pos: int) -> int:
    return int.from_bytes(buf[pos : pos + 8], "big")


def _le32(buf: bytes, pos: int) -> int:
    return int.from_bytes(buf[pos : pos + 4], "little")


def _tag(raw: bytes) -> str | None:
    """A fourcc or codec ID as text, if it is printable ASCII."""
    text = raw.rstrip(b"\x00 ").decode("ascii", "replace")
    if not text or not text.isprintable() or "\ufffd" in text:
        return None
    return text


_FOURCC_CODECS = {
    **dict.fromkeys(("avc1", "avc2", "avc3", "avc4", "h264", "x264", "davc"), "h264"),
    **dict.fromkeys(("hvc1", "hev1", "hevc", "h265", "x265"), "hevc"),
    **dict.fromkeys(("mp4v", "xvid", "divx", "dx50", "fmp4"), "mpeg4"),
    **dict.fromkeys(("jpeg", "mjpg", "mjpa", "mjpb", "avrn"), "mjpeg"),
    **dict.fromkeys(("vp08", "vp80"), "vp8"),
    **dict.fromkeys(("vp09", "vp90"), "vp9"),
    "av01": "av1",
    **dict.fromkeys(("apch", "apcn", "apcs", "apco", "ap4h", "ap4x"), "prores"),
}


def _fourcc_codec(raw: bytes) -> str | None:
    tag = _tag(raw)
    if tag is None:
        return None
    return _FOURCC_CODECS.get(tag.lower(), tag)


# --- recognising the container ---------------------------------------------------------

_ParseFn = Callable[[_Source, bytes, _Facts], None]
"""A per-container parser: fills in what it can find beyond the container name."""

_QUICKTIME_FIRST = frozenset({b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"})
_ISO_TOP = _QUICKTIME_FIRST | {b"ftyp", b"styp", b"moof", b"sidx", b"pdin"}


def _sniff(head: bytes) -> tuple[str, _ParseFn | None] | None:
    """The container ``head`` starts, and the parser for the rest of its facts."""
    if len(head) >= 8 and head[4:8] in _ISO_TOP and (_u32(head, 0) in (0, 1) or _u32(head, 0) >= 8):
        return "mp4", _parse_iso
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska", _parse_matroska
    if head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"AVIX"):
        return "avi", _parse_avi
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg", _parse_jpeg
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png", _parse_png
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return "mpegts", None
    if len(head) > 196 and head[4] == 0x47 and head[196] == 0x47:
        return "mpegts", None  # M2TS: 188-byte packets behind a 4-byte timecode
    if head[:4] == b"\x00\x00\x01\xba":
        return "mpegps", None
    if head[:4] == b"FLV\x01":
        return "flv", None
    if head[:4] == b"OggS":
        return "ogg", None
    return _sniff_annexb(head)


def _sniff_annexb(head: bytes) -> tuple[str, _ParseFn | None] | None:
    """A raw H.264/HEVC elementary stream starts with a start code and a parameter set."""
    if head[:4] == b"\x00\x00\x00\x01":
        nal = head[4:6]
    elif head[:3] == b"\x00\x00\x01":
        nal = head[3:5]
    else:
        return None
    if len(nal) < 2 or nal[0] & 0x80:
        return None
    if nal[1] == 0x01 and (nal[0] >> 1) & 0x3F in (32, 33, 34, 35, 39):
        return "hevc", _codec_only("hevc")
    if nal[0] & 0x1F in (1, 5, 6, 7, 8, 9):
        return "h264", _codec_only("h264")
    return None


def _codec_only(codec: str) -> _ParseFn:
    def parse(src: _Source, head: bytes, facts: _Facts) -> None:
        facts.codec = codec

    return parse


# --- ISO BMFF (MP4, MOV, 3GP, fragmented MP4) --------------------------------------------


def _boxes(buf: bytes, start: int, end: int, src: _Source) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in ``buf[start:end]``.

    Every box advances at least 8 bytes and costs one element of the budget,
    so a run of bad or zero-sized boxes ends quickly. A box running past
    ``end`` is cut off there (the file is truncated or lying).
    """
    end = min(end, len(buf))
    pos = start
    while pos + 8 <= end and src.take():
        size = _u32(buf, pos)
        kind = buf[pos + 4 : pos + 8]
        header = 8
        if size == 1:
            if pos + 16 > end:
                return
            size = _u64(buf, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header:
            return
        yield kind, pos + header, min(pos + size, end)
        pos += size


def _parse_iso(src: _Source, head: bytes, facts: _Facts) -> None:
    """Walk the top-level boxes (seeking past 'mdat') to 'ftyp' and 'moov'."""
    offset = 0
    for index in range(_MAX_TOP_BOXES):
        header = src.read(offset, 16)
        if len(header) < 8:
            return
        size, kind = _u32(header, 0), header[4:8]
        header_len = 8
        if size == 1:
            if len(header) < 16:
                return
            size, header_len = _u64(header, 8), 16
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


def _parse_moov(buf: bytes, src: _Source, facts: _Facts) -> None:
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
    facts.codec = _fourcc_codec(video.sample_entry) if video.sample_entry else None


def _time_header(buf: bytes, start: int, end: int) -> tuple[int, int | None]:
    """(timescale, duration) of an 'mvhd' or 'mdhd'; duration None if unknown."""
    if start >= end:
        return 0, None
    if buf[start] == 1:
        if end - start < 32:
            return 0, None
        timescale, duration = _u32(buf, start + 20), _u64(buf, start + 24)
        unknown = 0xFFFF_FFFF_FFFF_FFFF
    else:
        if end - start < 20:
            return 0, None
        timescale, duration = _u32(buf, start + 12), _u32(buf, start + 16)
        unknown = 0xFFFF_FFFF
    return timescale, (None if duration == unknown else duration)


def _mehd(buf: bytes, start: int, end: int) -> int | None:
    if start >= end:
        return None
    if buf[start] == 1:
        return _u64(buf, start + 4) if end - start >= 12 else None
    return _u32(buf, start + 4) if end - start >= 8 else None


def _parse_trak(buf: bytes, start: int, end: int, src: _Source) -> _Track:
    track = _Track()
    for kind, s, e in _boxes(buf, start, end, src):
        if kind == b"tkhd":
            # width and height are 16.16 fixed point, after a version-sized time block
            at = s + (88 if buf[s : s + 1] == b"\x01" else 76)
            if e - at >= 8:
                track.width = (_u32(buf, at) + 0x8000) >> 16
                track.height = (_u32(buf, at + 4) + 0x8000) >> 16
        elif kind == b"mdia":
            _parse_mdia(buf, s, e, src, track)
    return track


def _parse_mdia(buf: bytes, start: int, end: int, src: _Source, track: _Track) -> None:
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


def _parse_stsd(buf: bytes, start: int, end: int, src: _Source, track: _Track) -> None:
    """The first sample entry: its fourcc names the codec; visual entries carry a size."""
    for kind, s, e in _boxes(buf, start + 8, end, src):  # skip version/flags, entry_count
        track.sample_entry = kind
        if e - s >= 28:
            track.entry_width, track.entry_height = _u16(buf, s + 24), _u16(buf, s + 26)
        return


# --- Matroska / WebM ---------------------------------------------------------------------

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


def _elements(buf: bytes, start: int, end: int, src: _Source) -> Iterator[tuple[int, int, int]]:
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


def _parse_matroska(src: _Source, head: bytes, facts: _Facts) -> None:
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


def _parse_segment(buf: bytes, start: int, end: int, src: _Source, facts: _Facts) -> None:
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


def _parse_seekhead(buf: bytes, start: int, end: int, src: _Source) -> list[tuple[int, int]]:
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


def _parse_info(buf: bytes, start: int, end: int, src: _Source, facts: _Facts) -> None:
    scale: int | None = 1_000_000  # nanoseconds per tick, the spec's default
    duration = None
    for ident, s, e in _elements(buf, start, end, src):
        if ident == _TIMECODE_SCALE:
            scale = _ebml_uint(buf, s, e)
        elif ident == _DURATION:
            duration = _ebml_float(buf, s, e)
    if duration is not None and scale:
        facts.duration_s = duration * scale / 1e9


def _parse_tracks(buf: bytes, start: int, end: int, src: _Source, facts: _Facts) -> None:
    for ident, s, e in _elements(buf, start, end, src):
        if ident != _TRACK_ENTRY:
            continue
        track_type, codec_id, private = None, None, b""
        width = height = None
        for child, cs, ce in _elements(buf, s, e, src):
            if child == _TRACK_TYPE:
                track_type = _ebml_uint(buf, cs, ce)
            elif child == _CODEC_ID:
                codec_id = _tag(buf[cs : min(ce, cs + 64)])
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
            facts.codec = _fourcc_codec(private[16:20])  # BITMAPINFOHEADER.biCompression
        elif codec_id is not None:
            facts.codec = _MKV_CODECS.get(codec_id, codec_id)
        return


# --- AVI (RIFF) -------------------------------------------------------------------------


def _chunks(buf: bytes, start: int, end: int, src: _Source) -> Iterator[tuple[bytes, int, int]]:
    """(fourcc, data start, data end) of each RIFF chunk; data is padded to even length."""
    end = min(end, len(buf))
    pos = start
    while pos + 8 <= end and src.take():
        size = _le32(buf, pos + 4)
        yield buf[pos : pos + 4], pos + 8, min(pos + 8 + size, end)
        pos += 8 + size + (size & 1)


def _parse_avi(src: _Source, head: bytes, facts: _Facts) -> None:
    """RIFF 'AVI ' → LIST 'hdrl' → 'avih' (main header) and LIST 'strl' (streams)."""
    buf = src.read(0, _RIFF_HEAD) if src.size > len(head) else head
    for kind, start, end in _chunks(buf, 12, len(buf), src):
        if kind == b"LIST" and buf[start : start + 4] == b"hdrl":
            _parse_hdrl(buf, start + 4, end, src, facts)
            return
        if kind == b"LIST" and buf[start : start + 4] == b"movi":
            return


def _parse_hdrl(buf: bytes, start: int, end: int, src: _Source, facts: _Facts) -> None:
    usec_per_frame = total_frames = 0
    stream_seconds: float | None = None
    for kind, s, e in _chunks(buf, start, end, src):
        list_type = buf[s : s + 4] if kind == b"LIST" else b""
        if kind == b"avih" and e - s >= 40:
            usec_per_frame, total_frames = _le32(buf, s), _le32(buf, s + 16)
            facts.width, facts.height = _le32(buf, s + 32) or None, _le32(buf, s + 36) or None
        elif list_type == b"strl" and stream_seconds is None:
            stream_seconds = _parse_strl(buf, s + 4, e, src, facts)
        elif list_type == b"odml":
            for child, cs, ce in _chunks(buf, s + 4, e, src):
                if child == b"dmlh" and ce - cs >= 4:
                    total_frames = max(total_frames, _le32(buf, cs))  # all RIFF parts
    if stream_seconds is not None:
        facts.duration_s = stream_seconds
    elif usec_per_frame and total_frames:
        facts.duration_s = total_frames * usec_per_frame / 1e6


def _parse_strl(buf: bytes, start: int, end: int, src: _Source, facts: _Facts) -> float | None:
    """A video stream's codec, size and length in seconds; None if not video."""
    is_video = False
    seconds = None
    for kind, s, e in _chunks(buf, start, end, src):
        if kind == b"strh" and e - s >= 36:
            if buf[s : s + 4] != b"vids":
                return None
            is_video = True
            handler = buf[s + 4 : s + 8]
            if handler.strip(b"\x00 "):
                facts.codec = _fourcc_codec(handler)
            scale, rate, length = _le32(buf, s + 20), _le32(buf, s + 24), _le32(buf, s + 32)
            if rate and length:
                seconds = length * scale / rate
        elif kind == b"strf" and is_video and e - s >= 20:
            width = int.from_bytes(buf[s + 4 : s + 8], "little", signed=True)
            height = int.from_bytes(buf[s + 8 : s + 12], "little", signed=True)
            facts.width = facts.width or abs(width) or None
            facts.height = facts.height or abs(height) or None  # negative: top-down rows
            compression = buf[s + 16 : s + 20]
            if compression.strip(b"\x00"):
                facts.codec = _fourcc_codec(compression)
    return seconds if is_video else None


# --- still images ----------------------------------------------------------------------

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _parse_jpeg(src: _Source, head: bytes, facts: _Facts) -> None:
    """A JPEG snapshot: the frame header (SOFn) gives its size."""
    facts.codec = "mjpeg"
    buf = src.read(0, _JPEG_HEAD) if src.size > len(head) else head
    pos = 2
    while pos + 4 <= len(buf) and src.take():
        if buf[pos] != 0xFF:
            return
        marker = buf[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
        elif marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            pos += 2
        elif marker in _JPEG_SOF:
            if pos + 9 <= len(buf):
                facts.height, facts.width = _u16(buf, pos + 5), _u16(buf, pos + 7)
            return
        elif marker in (0xD9, 0xDA):  # end of image, start of scan: no frame header before
            return
        else:
            pos += 2 + _u16(buf, pos + 2)


def _parse_png(src: _Source, head: bytes, facts: _Facts) -> None:
    facts.codec = "png"
    if head[12:16] == b"IHDR" and len(head) >= 24:
        facts.width, facts.height = _u32(head, 16), _u32(head, 20)
