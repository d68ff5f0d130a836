"""Privacy-mask rectangles: parsed strictly, turned into the pixels an export fills.

A mask is given in fractions of the frame (0–1), so one mask fits every
resolution a camera records in. It is kept as integers in millionths of the
frame's width and height (:data:`SCALE`), because whatever is signed is
canonical JSON, which has no floats: ``0.25`` is 250000, read from the text
exactly, never through a binary float. Pure values in and out: no PyAV, no
numpy.

The filled box is wider than the rectangle asked for, on purpose. H.264
codes pictures in 16×16 macroblocks, and its in-loop deblocking filter
rewrites up to three pixels on each side of a block edge using the pixels
across it. A fill that ends inside a macroblock, or right at the asked
rectangle's edge, would let the neighbouring picture bleed a few levels into
the masked area once encoded (measured: up to 14 levels in a dark scene).
So the rectangle is first widened by :data:`GUARD` pixels and then extended
outward to the macroblock grid: every pixel of the rectangle asked for is then
at least four pixels inside a run of whole, flat macroblocks and decodes as
exactly the fill colour.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from vault.errors import UsageError

#: A mask's unit: one millionth of the frame's width (x, w) or height (y, h).
SCALE = 1_000_000
#: Pixels added on every side before snapping to the macroblock grid.
GUARD = 4
#: H.264's macroblock size.
GRID = 16
#: The fill colour, as RGB, and as limited-range Y'CbCr (BT.601/709 agree on black).
FILL_RGB = (0, 0, 0)
FILL_YUV = (16, 128, 128)
#: At most this many masks per camera: each one costs a little per frame.
MAX_MASKS = 32
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,47}$")
_NUMBER = re.compile(r"^(?:(0)?(?:\.(\d{1,6}))?|(1)(?:\.0{1,6})?)$")


@dataclass(frozen=True)
class MaskRect:
    """A rectangle in millionths of the frame: left, top, width, height."""

    x: int
    y: int
    w: int
    h: int

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]

    def text(self) -> str:
        """``X,Y,W,H`` as fractions, as typed: ``0.1,0.2,0.3,0.25``."""
        return ",".join(fraction(v) for v in self.as_list())


def fraction(v: int) -> str:
    """Millionths as a decimal fraction: 250000 → ``0.25``."""
    whole, part = divmod(v, SCALE)
    if not part:
        return str(whole)
    return f"{whole}.{part:06d}".rstrip("0")


def _millionths(text: str) -> int | None:
    m = _NUMBER.match(text)
    if not m or not text or text == ".":
        return None
    if m.group(3):
        return SCALE
    return int((m.group(2) or "").ljust(6, "0") or "0")


def parse_rect(text: str) -> MaskRect:
    """``X,Y,W,H`` as fractions of the frame, each 0–1 with at most six decimals.

    The rectangle must have an area and lie inside the frame. Raises
    UsageError saying which rule failed.
    """
    parts = text.strip().split(",")
    if len(parts) != 4:
        raise UsageError(f"--rect {text!r}: give X,Y,W,H (four fractions of the frame, 0-1)")
    values: list[int] = []
    for name, part in zip("XYWH", parts, strict=True):
        value = _millionths(part.strip())
        if value is None:
            raise UsageError(
                f"--rect {text!r}: {name} must be a decimal from 0 to 1 "
                "(at most six decimals), e.g. 0.25"
            )
        values.append(value)
    return check_rect(values, what=f"--rect {text!r}")


def check_rect(values: Any, *, what: str = "a mask") -> MaskRect:
    """A :class:`MaskRect` from four integers in millionths, or UsageError
    naming the rule broken.

    Used for what is typed and for what is read back (a catalog row, a signed
    decision): integers only, no rectangle outside the frame.
    """
    if (
        not isinstance(values, list | tuple)
        or len(values) != 4
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in values)
    ):
        raise UsageError(f"{what}: a mask is four integers X,Y,W,H in millionths of the frame")
    x, y, w, h = values
    if not all(0 <= v <= SCALE for v in (x, y, w, h)):
        raise UsageError(f"{what}: every value must be from 0 to 1")
    if w <= 0 or h <= 0:
        raise UsageError(f"{what}: the width and the height must be more than 0")
    if x + w > SCALE or y + h > SCALE:
        raise UsageError(
            f"{what}: the rectangle goes past the frame's edge (X+W and Y+H at most 1)"
        )
    return MaskRect(x, y, w, h)


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise UsageError(
            f"mask name {name!r}: letters, digits, spaces, '.', '_' or '-' (at most 48)"
        )
    return name


def asked_box(rect: MaskRect, width: int, height: int) -> tuple[int, int, int, int]:
    """The pixels the rectangle touches, as (x0, y0, x1, y1), end exclusive.

    Rounded outward: a pixel partly inside the rectangle is masked.
    """
    x0 = rect.x * width // SCALE
    y0 = rect.y * height // SCALE
    x1 = -(-(rect.x + rect.w) * width // SCALE)
    y1 = -(-(rect.y + rect.h) * height // SCALE)
    return (max(0, x0), max(0, y0), min(width, max(x1, x0 + 1)), min(height, max(y1, y0 + 1)))


def filled_box(rect: MaskRect, width: int, height: int) -> tuple[int, int, int, int]:
    """The pixels an export fills for *rect*: :func:`asked_box` widened by
    :data:`GUARD` and extended to the macroblock grid (see the module's note)."""
    x0, y0, x1, y1 = asked_box(rect, width, height)
    return (
        max(0, (x0 - GUARD) // GRID * GRID),
        max(0, (y0 - GUARD) // GRID * GRID),
        min(width, -(-(x1 + GUARD) // GRID) * GRID),
        min(height, -(-(y1 + GUARD) // GRID) * GRID),
    )


def rects_from(values: Iterable[Any], *, what: str = "a mask") -> list[MaskRect]:
    """Masks read back from JSON (``[[x, y, w, h], ...]``), each checked."""
    out = [check_rect(v, what=what) for v in values]
    if len(out) > MAX_MASKS:
        raise UsageError(f"{what}: at most {MAX_MASKS} masks")
    return out


def as_lists(rects: Sequence[MaskRect]) -> list[list[int]]:
    return [r.as_list() for r in rects]
