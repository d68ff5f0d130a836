"""A decoded frame on screen: half-blocks everywhere, Kitty graphics or Sixel where
the terminal has them (see ``tui.graphics``).

Half-blocks draw two pixels a cell ("▀" with the top pixel as its colour and
the bottom one as its background); each frame's lines are built once and
kept until the next frame. Where there is no colour, or no frame yet, the
widget shows its text instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

from tui import graphics

if TYPE_CHECKING:
    from PIL.Image import Image

MAX_GRAPHICS = (960, 540)
"""The largest frame decoded for Kitty/Sixel: more costs memory and time, not sight."""


def half_block_lines(image: Image) -> list[list[Segment]]:
    """*image* as lines of "▀" cells, two pixel rows a line; runs of one colour merged."""
    img = image if image.mode == "RGB" else image.convert("RGB")
    w, h = img.size
    data = img.tobytes()
    stride = w * 3
    styles: dict[bytes, Style] = {}
    lines = []
    for y in range(0, h - 1, 2):
        top = data[y * stride : (y + 1) * stride]
        bottom = data[(y + 1) * stride : (y + 2) * stride]
        segments: list[Segment] = []
        run_key = b""
        run = 0
        for x in range(0, stride, 3):
            key = top[x : x + 3] + bottom[x : x + 3]
            if key == run_key:
                run += 1
                continue
            if run:
                segments.append(Segment("▀" * run, styles[run_key]))
            style = styles.get(key)
            if style is None:
                style = styles[key] = Style.from_color(
                    Color.from_rgb(key[0], key[1], key[2]), Color.from_rgb(key[3], key[4], key[5])
                )
            run_key, run = key, 1
        if run:
            segments.append(Segment("▀" * run, styles[run_key]))
        lines.append(segments)
    return lines


class HalfBlockPicture(Widget):
    """A frame in half-block cells, centred; *fallback* when there is none."""

    DEFAULT_CSS = """
    HalfBlockPicture { width: 1fr; height: 1fr; }
    """

    def __init__(self, fallback: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fallback = fallback
        self.image: Image | None = None
        self._lines: list[list[Segment]] | None = None
        self._for: tuple[int, int] = (0, 0)

    @property
    def shows_image(self) -> bool:
        return self.image is not None and self.app.console.color_system is not None

    def pixel_box(self) -> tuple[int, int]:
        """The pixels a frame may have to fill this widget: two a cell, vertically."""
        return (max(2, self.size.width), max(2, self.size.height * 2))

    def show(self, image: Image | None) -> None:
        self.image = image
        self._lines = None
        self.refresh()

    def _built(self) -> list[list[Segment]]:
        assert self.image is not None
        box = self.pixel_box()
        if self._lines is None or self._for != box:
            image = self.image
            if image.width > box[0] or image.height > box[1]:
                from PIL import Image as PILImage

                from tui.video import fit

                image = image.resize(fit(image.size, box), PILImage.Resampling.BILINEAR)
            self._lines, self._for = half_block_lines(image), box
        return self._lines

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if not self.shows_image or width < 2 or self.size.height < 1:
            if y == self.size.height // 2 and self.fallback:
                text = self.fallback[:width]
                pad = (width - len(text)) // 2
                return Strip(
                    [Segment(" " * pad), Segment(text, Style(dim=True))]
                ).extend_cell_length(width)
            return Strip.blank(width)
        lines = self._built()
        top = (self.size.height - len(lines)) // 2
        row = y - top
        if not 0 <= row < len(lines):
            return Strip.blank(width)
        segments = lines[row]
        used = sum(len(s.text) for s in segments)
        pad = (width - used) // 2
        return Strip([Segment(" " * pad), *segments], pad + used).extend_cell_length(width)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return container.height


def make_picture(mode: str, fallback: str = "", **kwargs: Any) -> Widget:
    """The picture widget for *mode* (``tui.graphics``); each has ``show(image)``
    and ``pixel_box()``."""
    if mode == graphics.HALFBLOCK:
        return HalfBlockPicture(fallback, **kwargs)
    return _graphics_picture(mode, fallback, **kwargs)


def _graphics_picture(mode: str, fallback: str, **kwargs: Any) -> Widget:
    from textual_image.widget import SixelImage, TGPImage

    base: type[Widget] = SixelImage if mode == graphics.SIXEL else TGPImage

    class GraphicsPicture(base, Renderable=base._Renderable):  # type: ignore[valid-type,misc,call-arg,attr-defined]
        DEFAULT_CSS = """
        GraphicsPicture { width: 1fr; height: 1fr; }
        """

        def __init__(self) -> None:
            super().__init__(None, **kwargs)
            self.fallback = fallback

        @property
        def shows_image(self) -> bool:
            return self.image is not None

        def pixel_box(self) -> tuple[int, int]:
            cw, ch = graphics.cell_pixels()
            return (
                min(MAX_GRAPHICS[0], max(2, self.size.width * cw)),
                min(MAX_GRAPHICS[1], max(2, self.size.height * ch)),
            )

        def show(self, image: Image | None) -> None:
            self.image = image

    return GraphicsPicture()
