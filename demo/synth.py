"""Synthetic camera clips for tests, the demo and benchmarks.

A clip is a real, playable MP4 that looks like a fixed camera: a lit scene
with sensor grain, a figure walking across it, the camera's label and a
running timestamp burnt in. Frames are rendered in pure Python (a built-in
5x7 bitmap font, no Pillow needed), then encoded with the best codec at hand:

1. H.264 through PyAV (libx264, libopenh264 or FFmpeg's default H.264 encoder),
2. MPEG-4 part 2 through PyAV,
3. MJPEG in an MP4 written here, frames compressed with Pillow.

Without PyAV or Pillow no clip can be made and :class:`RuntimeError` says so.
The same arguments always give the same pictures; ``seed`` varies the scene.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import random
import re
import secrets
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "available_codecs",
    "clip_bytes",
    "write_clip",
    "write_clip_slowly",
]

DEFAULT_START = datetime(2024, 1, 1, 8, 0, 0)
"""The burnt-in clock of a clip's first frame unless the caller gives ``start``."""

_CODECS = ("h264", "mpeg4", "mjpeg")
_PYAV_ENCODERS = {"h264": ("libx264", "libopenh264", "h264"), "mpeg4": ("mpeg4",)}
_PYAV_OPTIONS = {
    # A doorbell camera's stream: no B-frames, no lookahead, modest quality.
    "libx264": {"preset": "veryfast", "tune": "zerolatency", "crf": "28"},
}


def write_clip(
    path: Path,
    *,
    seconds: float = 2.0,
    width: int = 320,
    height: int = 240,
    fps: int = 10,
    label: str = "",
    seed: int = 0,
    atomic: bool = True,
    codec: str | None = None,
    start: datetime | None = None,
) -> None:
    """Write a synthetic camera clip (MP4) to ``path``.

    With ``atomic`` (the default) the clip is written under a hidden temporary
    name in the same folder and renamed into place, so a watcher never sees
    half a clip under ``path``. ``atomic=False`` writes ``path`` directly, as
    a camera does. ``codec`` forces "h264", "mpeg4" or "mjpeg" instead of the
    best available (see :func:`available_codecs`).
    """
    path = Path(path)
    options = _Options.check(seconds, width, height, fps, label, seed, codec, start)
    if not atomic:
        with open(path, "wb") as out:
            _encode(out, options)
        return
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        with open(temp, "xb") as out:
            _encode(out, options)
        os.replace(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def clip_bytes(
    *,
    seconds: float = 2.0,
    width: int = 320,
    height: int = 240,
    fps: int = 10,
    label: str = "",
    seed: int = 0,
    codec: str | None = None,
    start: datetime | None = None,
) -> bytes:
    """The bytes :func:`write_clip` would write with the same arguments."""
    options = _Options.check(seconds, width, height, fps, label, seed, codec, start)
    out = io.BytesIO()
    _encode(out, options)
    return out.getvalue()


def write_clip_slowly(
    path: Path,
    data: bytes,
    seconds: float,
    chunks: int,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Write ``data`` to ``path`` in ``chunks`` pieces over about ``seconds``.

    Simulates a slow camera upload: not atomic, the file stays open the whole
    time and each piece is flushed before a pause of ``seconds / chunks``.
    """
    if chunks < 1 or not seconds >= 0:
        raise ValueError("write_clip_slowly needs chunks >= 1 and seconds >= 0")
    pause = seconds / chunks
    with open(path, "wb") as out:
        for i in range(chunks):
            out.write(data[len(data) * i // chunks : len(data) * (i + 1) // chunks])
            out.flush()
            sleep(pause)


def available_codecs() -> list[str]:
    """The codecs :func:`write_clip` can produce here, best first."""
    found = [name for name in ("h264", "mpeg4") if _pyav_encoders(name)]
    if _has_pillow():
        found.append("mjpeg")
    return found


# --- choosing and running an encoder -----------------------------------------------------


@dataclass(frozen=True)
class _Options:
    """Validated clip parameters."""

    seconds: float
    width: int
    height: int
    fps: int
    label: str
    seed: int
    codec: str | None
    start: datetime

    @property
    def frames(self) -> int:
        return max(1, round(self.seconds * self.fps))

    @classmethod
    def check(
        cls,
        seconds: float,
        width: int,
        height: int,
        fps: int,
        label: str,
        seed: int,
        codec: str | None,
        start: datetime | None,
    ) -> _Options:
        if not (isinstance(seconds, int | float) and 0 < seconds <= 3600):
            raise ValueError(f"seconds must be in (0, 3600], not {seconds!r}")
        for name, value in (("width", width), ("height", height)):
            if not (isinstance(value, int) and 16 <= value <= 4096 and value % 2 == 0):
                raise ValueError(f"{name} must be an even number from 16 to 4096, not {value!r}")
        if not (isinstance(fps, int) and 1 <= fps <= 120):
            raise ValueError(f"fps must be an integer from 1 to 120, not {fps!r}")
        if codec is not None and codec not in _CODECS:
            raise ValueError(f"codec must be one of {', '.join(_CODECS)} or None, not {codec!r}")
        return cls(
            seconds=float(seconds),
            width=width,
            height=height,
            fps=fps,
            label=str(label),
            seed=int(seed),
            codec=codec,
            start=start or DEFAULT_START,
        )


def _encode(out: BinaryIO, options: _Options) -> None:
    """Write the clip to ``out`` with the requested codec or the best one that works."""
    wanted = [options.codec] if options.codec else list(_CODECS)
    failures: list[str] = []
    for codec in wanted:
        if codec == "mjpeg":
            if not _has_pillow():
                failures.append("mjpeg: Pillow is not installed")
                continue
            out.write(_mjpeg_mp4(options))
            return
        for encoder in _pyav_encoders(codec):
            try:
                _encode_pyav(out, options, encoder)
                return
            except Exception as exc:  # noqa: BLE001 - FFmpeg refuses in many ways; try the next
                failures.append(f"{encoder}: {exc}")
                out.seek(0)
                out.truncate()
        if not _pyav_encoders(codec):
            failures.append(f"{codec}: no PyAV encoder")
    raise RuntimeError(
        "cannot make a synthetic clip: install the media extra (pip install 'ringfence[media]')"
        f" for PyAV and Pillow ({'; '.join(failures)})"
    )


def _pyav_encoders(codec: str) -> list[str]:
    """Names of PyAV encoders for ``codec`` that exist in this FFmpeg build."""
    try:
        import av
    except ImportError:
        return []
    names = []
    for name in _PYAV_ENCODERS.get(codec, ()):
        try:
            if name in av.codec.codecs_available:
                names.append(av.codec.Codec(name, "w").name)
        except Exception:  # noqa: BLE001, S112 - absent from this build
            continue
    return list(dict.fromkeys(names))


def _has_pillow() -> bool:
    try:
        import PIL.Image  # noqa: F401
    except ImportError:
        return False
    return True


def _encode_pyav(out: BinaryIO, options: _Options, encoder: str) -> None:
    import av

    width, height = options.width, options.height
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream(encoder, rate=options.fps)
        if not isinstance(stream, av.VideoStream):
            raise TypeError(f"{encoder} is not a video encoder")
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = 2 * options.fps
        stream.codec_context.thread_count = 1  # same bytes on every machine
        stream.codec_context.bit_rate = max(200_000, width * height * options.fps // 4)
        stream.options = dict(_PYAV_OPTIONS.get(encoder, {}))
        for index, rgb in enumerate(_frames(options)):
            frame = av.VideoFrame(width, height, "rgb24")
            plane = frame.planes[0]
            if plane.line_size != width * 3:  # rows are padded for alignment
                pad = bytes(plane.line_size - width * 3)
                rgb = b"".join(
                    rgb[y * width * 3 : (y + 1) * width * 3] + pad for y in range(height)
                )
            plane.update(rgb)
            frame = frame.reformat(format="yuv420p")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


# --- MJPEG in MP4, written by hand ------------------------------------------------------


def _box(kind: bytes, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _full_box(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version << 24 | flags), *parts)


_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _mjpeg_mp4(options: _Options) -> bytes:
    """An ISO BMFF file (ftyp, moov, mdat) with one 'jpeg' video track, all in one chunk."""
    from PIL import Image

    jpegs = []
    for rgb in _frames(options):
        buf = io.BytesIO()
        Image.frombytes("RGB", (options.width, options.height), rgb).save(buf, "JPEG", quality=80)
        jpegs.append(buf.getvalue())
    n, fps = len(jpegs), options.fps
    movie_duration = round(n * 1000 / fps)  # movie timescale: milliseconds
    w, h = options.width, options.height
    entry = _box(
        b"jpeg",
        bytes(6) + struct.pack(">H", 1),  # reserved, data_reference_index
        bytes(16) + struct.pack(">HHIIIH", w, h, 0x480000, 0x480000, 0, 1),
        bytes([11]) + b"Photo - JPEG".ljust(31, b"\x00")[:31],  # compressorname
        struct.pack(">Hh", 24, -1),  # depth, pre_defined
    )

    def moov(mdat_payload_offset: int) -> bytes:
        stbl = _box(
            b"stbl",
            _full_box(b"stsd", 0, 0, struct.pack(">I", 1), entry),
            _full_box(b"stts", 0, 0, struct.pack(">III", 1, n, 1)),
            _full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, n, 1)),
            _full_box(
                b"stsz", 0, 0, struct.pack(">II", 0, n), *(struct.pack(">I", len(j)) for j in jpegs)
            ),
            _full_box(b"stco", 0, 0, struct.pack(">II", 1, mdat_payload_offset)),
        )
        minf = _box(
            b"minf",
            _full_box(b"vmhd", 0, 1, bytes(8)),
            _box(b"dinf", _full_box(b"dref", 0, 0, struct.pack(">I", 1), _full_box(b"url ", 0, 1))),
            stbl,
        )
        mdia = _box(
            b"mdia",
            _full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, fps, n, 0x55C4, 0)),  # 'und'
            _full_box(b"hdlr", 0, 0, bytes(4), b"vide", bytes(12), b"VideoHandler\x00"),
            minf,
        )
        tkhd = _full_box(
            b"tkhd",
            0,
            3,  # enabled, in movie
            struct.pack(">IIIII", 0, 0, 1, 0, movie_duration),
            bytes(8) + struct.pack(">hhhH", 0, 0, 0, 0),
            _MATRIX,
            struct.pack(">II", w << 16, h << 16),
        )
        mvhd = _full_box(
            b"mvhd",
            0,
            0,
            struct.pack(">IIIIIH", 0, 0, 1000, movie_duration, 0x10000, 0x100),
            bytes(10),
            _MATRIX,
            bytes(24),
            struct.pack(">I", 2),  # next_track_ID
        )
        return _box(b"moov", mvhd, _box(b"trak", tkhd, mdia))

    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso2mp41")
    head_len = len(ftyp) + len(moov(0)) + 8  # moov's size does not depend on the offset
    mdat_len = 8 + sum(len(j) for j in jpegs)
    if head_len + mdat_len > 0xFFFF_FFFF:
        raise ValueError("synthetic MJPEG clip too large for 32-bit chunk offsets")
    return ftyp + moov(head_len) + struct.pack(">I4s", mdat_len, b"mdat") + b"".join(jpegs)


# --- the picture ------------------------------------------------------------------------

_FONT_ROWS = {
    "0": "01110 10001 10011 10101 11001 10001 01110",
    "1": "00100 01100 00100 00100 00100 00100 01110",
    "2": "01110 10001 00001 00010 00100 01000 11111",
    "3": "11111 00010 00100 00010 00001 10001 01110",
    "4": "00010 00110 01010 10010 11111 00010 00010",
    "5": "11111 10000 11110 00001 00001 10001 01110",
    "6": "00110 01000 10000 11110 10001 10001 01110",
    "7": "11111 00001 00010 00100 01000 01000 01000",
    "8": "01110 10001 10001 01110 10001 10001 01110",
    "9": "01110 10001 10001 01111 00001 00010 01100",
    "A": "01110 10001 10001 11111 10001 10001 10001",
    "B": "11110 10001 10001 11110 10001 10001 11110",
    "C": "01110 10001 10000 10000 10000 10001 01110",
    "D": "11100 10010 10001 10001 10001 10010 11100",
    "E": "11111 10000 10000 11110 10000 10000 11111",
    "F": "11111 10000 10000 11110 10000 10000 10000",
    "G": "01110 10001 10000 10111 10001 10001 01111",
    "H": "10001 10001 10001 11111 10001 10001 10001",
    "I": "01110 00100 00100 00100 00100 00100 01110",
    "J": "00111 00010 00010 00010 00010 10010 01100",
    "K": "10001 10010 10100 11000 10100 10010 10001",
    "L": "10000 10000 10000 10000 10000 10000 11111",
    "M": "10001 11011 10101 10101 10001 10001 10001",
    "N": "10001 10001 11001 10101 10011 10001 10001",
    "O": "01110 10001 10001 10001 10001 10001 01110",
    "P": "11110 10001 10001 11110 10000 10000 10000",
    "Q": "01110 10001 10001 10001 10101 10010 01101",
    "R": "11110 10001 10001 11110 10100 10010 10001",
    "S": "01111 10000 10000 01110 00001 00001 11110",
    "T": "11111 00100 00100 00100 00100 00100 00100",
    "U": "10001 10001 10001 10001 10001 10001 01110",
    "V": "10001 10001 10001 10001 10001 01010 00100",
    "W": "10001 10001 10001 10101 10101 10101 01010",
    "X": "10001 10001 01010 00100 01010 10001 10001",
    "Y": "10001 10001 10001 01010 00100 00100 00100",
    "Z": "11111 00001 00010 00100 01000 10000 11111",
    " ": "00000 00000 00000 00000 00000 00000 00000",
    "-": "00000 00000 00000 11111 00000 00000 00000",
    ":": "00000 01100 01100 00000 01100 01100 00000",
    ".": "00000 00000 00000 00000 00000 01100 01100",
    ",": "00000 00000 00000 00000 01100 00100 01000",
    "/": "00000 00001 00010 00100 01000 10000 00000",
    "_": "00000 00000 00000 00000 00000 00000 11111",
    "#": "01010 01010 11111 01010 11111 01010 01010",
    "!": "00100 00100 00100 00100 00100 00000 00100",
    "?": "01110 10001 00001 00010 00100 00000 00100",
    "'": "01100 00100 01000 00000 00000 00000 00000",
    "+": "00000 00100 00100 11111 00100 00100 00000",
    "=": "00000 00000 11111 00000 11111 00000 00000",
    "(": "00010 00100 01000 01000 01000 00100 00010",
    ")": "01000 00100 00010 00010 00010 00100 01000",
}
# Per glyph row: the (first column, column count) runs of lit pixels.
_FONT = {
    char: [[(m.start(), len(m.group())) for m in re.finditer("1+", row)] for row in rows.split()]
    for char, rows in _FONT_ROWS.items()
}


def _frames(options: _Options) -> Iterator[bytes]:
    """The clip's frames as packed RGB rows (rgb24), first to last."""
    w, h, fps = options.width, options.height, options.fps
    rng = random.Random(options.seed)
    background = _background(w, h, rng)
    size = len(background)
    # Sensor grain: the low bits of each frame are flipped by a slice of one noise field.
    noise = rng.randbytes(size + 3 * w * 8).translate(bytes(v & 0x07 for v in range(256)))
    plain = int.from_bytes(background, "big")
    scale = max(1, min(4, min(w, h * 4 // 3) // 160))
    figure_w, figure_h = max(4, w // 12), max(8, h // 3)
    speed = (0.25 + 0.5 * rng.random()) * w  # pixels per second
    phase = rng.random() * 2 * (w - figure_w)
    figure_colour = bytes(rng.choice(((200, 60, 50), (40, 70, 160), (220, 200, 60), (30, 30, 30))))
    label = options.label.upper()
    for index in range(options.frames):
        t = index / fps
        shift = 3 * rng.randrange(w * 8)
        grain = int.from_bytes(noise[shift : shift + size], "big")
        frame = bytearray((plain ^ grain).to_bytes(size, "big"))
        # The figure walks to and fro along the path, bobbing as it steps.
        travel = (phase + speed * t) % (2 * (w - figure_w))
        x = int(travel if travel <= w - figure_w else 2 * (w - figure_w) - travel)
        y = h - figure_h - h // 10 - int(abs(math.sin(t * 6)) * h / 60)
        _fill(frame, w, h, x, y, figure_w, figure_h, figure_colour)
        head = figure_w // 2
        _fill(frame, w, h, x + head // 2, y - head, head, head, b"\xd8\xb0\x90")
        stamp = (options.start + timedelta(seconds=t)).strftime("%Y-%m-%d %H:%M:%S")
        _text(frame, w, h, 2 * scale, 2 * scale, f"{stamp}.{index % fps * 10 // fps}", scale)
        if label:
            _text(frame, w, h, 2 * scale, h - 11 * scale, label, scale)
        yield bytes(frame)


def _background(w: int, h: int, rng: random.Random) -> bytes:
    """Sky over a lawn with a house wall and a door, lit from one side."""
    # One row of channel-tagged shades: R in 0..84, G in 85..169, B in 170..254. Each
    # image row is that template translated through a table giving the row's colours.
    sun = rng.random() * 0.3
    light = [0.75 + 0.25 * math.cos(math.pi * (x / w - sun)) for x in range(w)]
    template = bytes(c * 85 + min(84, int(84 * shade)) for shade in light for c in range(3))
    horizon = h * (45 + rng.randrange(15)) // 100
    rows = []
    for y in range(h):
        if y < horizon:  # sky, paler towards the horizon
            k = y / max(1, horizon)
            colour = (110 + 70 * k, 140 + 55 * k, 180 + 30 * k)
        else:  # lawn, darker towards the camera
            k = (y - horizon) / max(1, h - horizon)
            colour = (85 - 30 * k, 110 - 40 * k, 70 - 25 * k)
        table = bytes(
            min(255, int(colour[min(2, v // 85)] * (v % 85) / 84)) if v < 255 else 0
            for v in range(256)
        )
        rows.append(template.translate(table))
    image = bytearray(b"".join(rows))
    wall_x = rng.randrange(w // 2, w - w // 6)
    _fill(image, w, h, wall_x, horizon - h // 4, w - wall_x, h // 4 + h // 8, b"\xb4\xa5\x8c")
    _fill(
        image, w, h, wall_x + w // 20, horizon - h // 6, w // 14, h // 6 + h // 8, b"\x5a\x3c\x28"
    )
    _fill(image, w, h, 0, horizon + h // 4, w, h // 12, b"\x96\x91\x87")  # the path
    return bytes(image)


def _fill(image: bytearray, w: int, h: int, x: int, y: int, fw: int, fh: int, rgb: bytes) -> None:
    """Paint a rectangle, clipped to the picture."""
    x0, x1 = max(0, x), min(w, x + fw)
    if x0 >= x1:
        return
    run = rgb * (x1 - x0)
    for row in range(max(0, y), min(h, y + fh)):
        image[(row * w + x0) * 3 : (row * w + x1) * 3] = run


def _text(image: bytearray, w: int, h: int, x: int, y: int, text: str, scale: int) -> None:
    """Burn in white text on a dark band, the way a camera's overlay looks."""
    advance = 6 * scale
    _fill(
        image, w, h, x - scale, y - scale, advance * len(text) + scale, 9 * scale, b"\x10\x10\x10"
    )
    for i, char in enumerate(text):
        glyph = _FONT.get(char, _FONT["?"])
        for row, runs in enumerate(glyph):
            for column, length in runs:
                gx, gy = x + i * advance + column * scale, y + row * scale
                _fill(image, w, h, gx, gy, length * scale, scale, b"\xf0\xf0\xf0")
