"""AVI (RIFF): the main header and the first video stream's header and format."""

from __future__ import annotations

from collections.abc import Iterator

from vault.media.common import Facts, Source, fourcc_codec, le32

_RIFF_HEAD = 1024 * 1024  # AVI: the part of the file searched for the header list


def _chunks(buf: bytes, start: int, end: int, src: Source) -> Iterator[tuple[bytes, int, int]]:
    """(fourcc, data start, data end) of each RIFF chunk; data is padded to even length."""
    end = min(end, len(buf))
    pos = start
    while pos + 8 <= end and src.take():
        size = le32(buf, pos + 4)
        yield buf[pos : pos + 4], pos + 8, min(pos + 8 + size, end)
        pos += 8 + size + (size & 1)


def parse(src: Source, head: bytes, facts: Facts) -> None:
    """RIFF 'AVI ' → LIST 'hdrl' → 'avih' (main header) and LIST 'strl' (streams)."""
    buf = src.read(0, _RIFF_HEAD) if src.size > len(head) else head
    for kind, start, end in _chunks(buf, 12, len(buf), src):
        if kind == b"LIST" and buf[start : start + 4] == b"hdrl":
            _parse_hdrl(buf, start + 4, end, src, facts)
            return
        if kind == b"LIST" and buf[start : start + 4] == b"movi":
            return


def _parse_hdrl(buf: bytes, start: int, end: int, src: Source, facts: Facts) -> None:
    usec_per_frame = total_frames = 0
    stream_seconds: float | None = None
    for kind, s, e in _chunks(buf, start, end, src):
        list_type = buf[s : s + 4] if kind == b"LIST" else b""
        if kind == b"avih" and e - s >= 40:
            usec_per_frame, total_frames = le32(buf, s), le32(buf, s + 16)
            facts.width, facts.height = le32(buf, s + 32) or None, le32(buf, s + 36) or None
        elif list_type == b"strl" and stream_seconds is None:
            stream_seconds = _parse_strl(buf, s + 4, e, src, facts)
        elif list_type == b"odml":
            for child, cs, ce in _chunks(buf, s + 4, e, src):
                if child == b"dmlh" and ce - cs >= 4:
                    total_frames = max(total_frames, le32(buf, cs))  # all RIFF parts
    if stream_seconds is not None:
        facts.duration_s = stream_seconds
    elif usec_per_frame and total_frames:
        facts.duration_s = total_frames * usec_per_frame / 1e6


def _parse_strl(buf: bytes, start: int, end: int, src: Source, facts: Facts) -> float | None:
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
                facts.codec = fourcc_codec(handler)
            scale, rate, length = le32(buf, s + 20), le32(buf, s + 24), le32(buf, s + 32)
            if rate and length:
                seconds = length * scale / rate
        elif kind == b"strf" and is_video and e - s >= 20:
            width = int.from_bytes(buf[s + 4 : s + 8], "little", signed=True)
            height = int.from_bytes(buf[s + 8 : s + 12], "little", signed=True)
            facts.width = facts.width or abs(width) or None
            facts.height = facts.height or abs(height) or None  # negative: top-down rows
            compression = buf[s + 16 : s + 20]
            if compression.strip(b"\x00"):
                facts.codec = fourcc_codec(compression)
    return seconds if is_video else None
