"""A still frame drawn with half-block characters: two pixels per cell.

Every colour terminal can show it (tmux included); where there is no colour,
or no frame could be decoded, the widget shows its text instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.color import Color
from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

if TYPE_CHECKING:
    from PIL.Image import Image


def half_blocks(image: Image, width: int, height: int) -> Group:
    """*image* scaled to fit *width* × *height* cells, keeping its aspect ratio."""
    from PIL import Image as PILImage

    src_w, src_h = image.size
    scale = min(width / src_w, (height * 2) / src_h)
    w = max(1, int(src_w * scale))
    h = max(2, int(src_h * scale) // 2 * 2)
    img = image.convert("RGB").resize((w, h), PILImage.Resampling.BILINEAR)
    px = img.load()
    assert px is not None
    lines = []
    for y in range(0, h, 2):
        line = Text()
        for x in range(w):
            top = cast(tuple[int, int, int], px[x, y])
            bottom = cast(tuple[int, int, int], px[x, y + 1])
            line.append("▀", Style(color=Color.from_rgb(*top[:3]), bgcolor=Color.from_rgb(*bottom[:3])))
        lines.append(line)
    return Group(*lines)


class StillFrame(Widget):
    """Shows *image* if there is one and the terminal has colour, else *fallback*."""

    DEFAULT_CSS = """
    StillFrame { width: 1fr; height: 1fr; }
    """

    def __init__(self, image: Image | None, fallback: str, **kwargs: str) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.image = image
        self.fallback = fallback
        self._cache: tuple[tuple[int, int], Group] | None = None

    @property
    def shows_image(self) -> bool:
        return self.image is not None and self.app.console.color_system is not None

    def render(self) -> RenderableType:
        if not self.shows_image or self.size.width < 4 or self.size.height < 2:
            return Text(self.fallback, style="dim")
        assert self.image is not None
        size = (self.size.width, self.size.height)
        if self._cache is None or self._cache[0] != size:
            self._cache = (size, half_blocks(self.image, *size))
        return self._cache[1]
