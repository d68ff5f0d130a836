"""Still images a camera may drop instead of a clip: JPEG snapshots and PNG."""

from __future__ import annotations

from vault.media.common import Facts, Source, u16, u32

_JPEG_HEAD = 256 * 1024  # JPEG: the part searched for the frame header (EXIF comes first)

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def parse_jpeg(src: Source, head: bytes, facts: Facts) -> None:
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
                facts.height, facts.width = u16(buf, pos + 5), u16(buf, pos + 7)
            return
        elif marker in (0xD9, 0xDA):  # end of image, start of scan: no frame header before
            return
        else:
            pos += 2 + u16(buf, pos + 2)


def parse_png(src: Source, head: bytes, facts: Facts) -> None:
    facts.codec = "png"
    if head[12:16] == b"IHDR" and len(head) >= 24:
        facts.width, facts.height = u32(head, 16), u32(head, 20)
