"""Which way the terminal can show pictures: Kitty graphics, Sixel, or half-blocks.

Asked once, before the app takes the terminal (``textual-image`` queries the
terminal with escape sequences, which is no longer possible once Textual
runs). Half-blocks (two pixels a cell, in colour) work everywhere, tmux and
``screen`` included, so they are the answer whenever the terminal does not
say otherwise, ``textual-image`` is not installed, or output is not a
terminal. ``RINGFENCE_GRAPHICS=halfblock|sixel|kitty`` overrides the guess.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

HALFBLOCK = "halfblock"
SIXEL = "sixel"
KITTY = "kitty"
MODES = (HALFBLOCK, SIXEL, KITTY)
VARIABLE = "RINGFENCE_GRAPHICS"


def detect(env: Mapping[str, str] | None = None) -> str:
    """The picture mode for this terminal (call before the app starts)."""
    env = os.environ if env is None else env
    forced = env.get(VARIABLE, "").strip().lower()
    if forced == HALFBLOCK:
        return HALFBLOCK
    if not forced and (env.get("TMUX") or env.get("TERM", "").startswith(("screen", "tmux"))):
        return HALFBLOCK  # a multiplexer passes neither protocol through reliably
    try:
        from textual_image import renderable
        from textual_image import widget as _widget  # noqa: F401 - fills its cell-size cache now
    except Exception:  # noqa: BLE001 - missing, or the terminal query failed: half-blocks
        return HALFBLOCK
    if forced == KITTY:
        return KITTY
    if forced == SIXEL:
        return SIXEL
    if renderable.Image is renderable.TGPImage:
        return KITTY
    if renderable.Image is renderable.SixelImage:
        return SIXEL
    return HALFBLOCK


def cell_pixels() -> tuple[int, int]:
    """The size of one character cell in pixels, as the terminal said (10×20 if not)."""
    try:
        from textual_image._terminal import get_cell_size

        size = get_cell_size()
        if size.width > 0 and size.height > 0:
            return (size.width, size.height)
    except Exception:  # noqa: BLE001, S110 - any failure: a typical cell
        pass
    return (10, 20)


def label(mode: str) -> str:
    return {KITTY: "Kitty graphics", SIXEL: "Sixel"}.get(mode, "half-blocks")
