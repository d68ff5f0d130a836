"""Which container a clip is, from its first bytes, and the parser for the rest of its facts."""

from __future__ import annotations

from vault.media import avi, images, matroska, mp4
from vault.media.common import Facts, ParseFn, Source, u32
from vault.media.mp4 import TOP_LEVEL

HEAD = 64 * 1024  # bytes read up front to recognise the container


def recognise(head: bytes) -> tuple[str, ParseFn | None] | None:
    """The container ``head`` starts, and the parser for the rest of its facts."""
    if len(head) >= 8 and head[4:8] in TOP_LEVEL and (u32(head, 0) in (0, 1) or u32(head, 0) >= 8):
        return "mp4", mp4.parse
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska", matroska.parse
    if head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"AVIX"):
        return "avi", avi.parse
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg", images.parse_jpeg
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png", images.parse_png
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


def _sniff_annexb(head: bytes) -> tuple[str, ParseFn | None] | None:
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


def _codec_only(codec: str) -> ParseFn:
    def parse(src: Source, head: bytes, facts: Facts) -> None:
        facts.codec = codec

    return parse
