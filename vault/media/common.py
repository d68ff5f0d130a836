"""What every container parser shares: the facts, the bounded source, byte readers, codec tags.

The bounds that make a hostile clip harmless live here, in one place:
:class:`Source` stops reading at :data:`MAX_READ` bytes and counts every box,
element or chunk against :data:`MAX_ELEMENTS`; :class:`Facts` drops values no
real clip has when it is frozen.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

MAX_READ = 8 * 1024 * 1024
"""Most bytes one probe reads from a clip, whatever the clip declares."""

MAX_ELEMENTS = 20_000
"""Most boxes, elements or chunks one probe looks at."""

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


class Facts:
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


class Source:
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


def u16(buf: bytes, pos: int) -> int:
    return int.from_bytes(buf[pos : pos + 2], "big")


def u32(buf: bytes, pos: int) -> int:
    return int.from_bytes(buf[pos : pos + 4], "big")


def u64(buf: bytes, pos: int) -> int:
    return int.from_bytes(buf[pos : pos + 8], "big")


def le32(buf: bytes, pos: int) -> int:
    return int.from_bytes(buf[pos : pos + 4], "little")


def tag(raw: bytes) -> str | None:
    """A fourcc or codec ID as text, if it is printable ASCII."""
    text = raw.rstrip(b"\x00 ").decode("ascii", "replace")
    if not text or not text.isprintable() or "\ufffd" in text:
        return None
    return text


FOURCC_CODECS = {
    **dict.fromkeys(("avc1", "avc2", "avc3", "avc4", "h264", "x264", "davc"), "h264"),
    **dict.fromkeys(("hvc1", "hev1", "hevc", "h265", "x265"), "hevc"),
    **dict.fromkeys(("mp4v", "xvid", "divx", "dx50", "fmp4"), "mpeg4"),
    **dict.fromkeys(("jpeg", "mjpg", "mjpa", "mjpb", "avrn"), "mjpeg"),
    **dict.fromkeys(("vp08", "vp80"), "vp8"),
    **dict.fromkeys(("vp09", "vp90"), "vp9"),
    "av01": "av1",
    **dict.fromkeys(("apch", "apcn", "apcs", "apco", "ap4h", "ap4x"), "prores"),
}


def fourcc_codec(raw: bytes) -> str | None:
    text = tag(raw)
    if text is None:
        return None
    return FOURCC_CODECS.get(text.lower(), text)


ParseFn = Callable[[Source, bytes, Facts], None]
"""A per-container parser: fills in what it can find beyond the container name."""
