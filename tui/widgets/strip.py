"""A row of small frames across a request's clips: what each clip holds, at a glance.

Each clip in scope gives a frame every :data:`EVERY` seconds (its first at
0 s); the strip shows as many as fit, starting at the highlighted clip, whose
frames are marked. The frames themselves come from the request screen's
worker (``tui.screens.strip_loader``); until a clip's arrive its slots show
dots. Drawn in half-blocks, the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from tui.format import local
from tui.widgets.picture import half_block_lines

if TYPE_CHECKING:
    from tui.video import Frame
    from vault.service import ClipInfo

EVERY = 3.0
"""Seconds between two frames of one clip in the strip."""
SLOT_WIDTH = 16
"""Cells of one frame; with one cell between two frames."""
ROWS = 4
"""Cell rows of one frame (8 pixel rows)."""
MAX_PER_CLIP = 8


def sample_times(duration_s: float | None) -> list[float]:
    """The times in a clip (seconds from its start) the strip shows a frame of."""
    length = max(0.0, duration_s or 0.0)
    count = min(MAX_PER_CLIP, max(1, int(length // EVERY) + (1 if length % EVERY > 0.5 else 0)))
    return [i * EVERY for i in range(count)]


@dataclass(frozen=True)
class Slot:
    clip: ClipInfo
    t: float


def slots(clips: Sequence[ClipInfo]) -> list[Slot]:
    return [Slot(c, t) for c in clips for t in sample_times(c.duration_s)]


class FrameStrip(Widget):
    """The strip of frames; :meth:`set_clips`, :meth:`add_frames`, :meth:`focus_clip`."""

    DEFAULT_CSS = f"""
    FrameStrip {{ height: {ROWS + 1}; width: 1fr; padding: 0 1; }}
    """

    def __init__(self, **kwargs: str) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._slots: list[Slot] = []
        self._frames: dict[str, list[Frame]] = {}
        self._lines: dict[tuple[str, int], list[list[Segment]]] = {}
        self._focus = ""
        self._start = 0
        self.message = ""

    # --- what it shows ------------------------------------------------------------------

    def set_clips(self, clips: Sequence[ClipInfo]) -> None:
        self._slots = slots(clips)
        self._place()
        self.refresh()

    def add_frames(self, clip_id: str, frames: list[Frame]) -> None:
        self._frames[clip_id] = frames
        if any(s.clip.id == clip_id for s in self._visible()):
            self.refresh()

    def focus_clip(self, clip_id: str) -> None:
        self._focus = clip_id
        self._place()
        self.refresh()

    def clear(self) -> None:
        """Forget every frame (the vault locked, or the screen closed)."""
        self._frames.clear()
        self._lines.clear()
        self.refresh()

    def has_frames(self, clip_id: str) -> bool:
        return clip_id in self._frames

    @property
    def frame_count(self) -> int:
        return sum(len(f) for f in self._frames.values())

    @property
    def per_screen(self) -> int:
        return max(1, (self.size.width + 1) // (SLOT_WIDTH + 1)) if self.size.width else 6

    def visible_clips(self) -> list[str]:
        """The clips with a frame on screen now, first the highlighted one."""
        return list(dict.fromkeys(s.clip.id for s in self._visible()))

    def _place(self) -> None:
        first = next((i for i, s in enumerate(self._slots) if s.clip.id == self._focus), 0)
        self._start = max(0, min(first, len(self._slots) - self.per_screen))

    def _visible(self) -> list[Slot]:
        return self._slots[self._start : self._start + self.per_screen]

    def on_resize(self) -> None:
        self._place()

    # --- drawing ------------------------------------------------------------------------

    def _frame_lines(self, slot: Slot) -> list[list[Segment]] | None:
        frames = self._frames.get(slot.clip.id)
        if not frames:
            return None
        index = min(range(len(frames)), key=lambda i: abs(frames[i].t - slot.t))
        key = (slot.clip.id, index)
        lines = self._lines.get(key)
        if lines is None:
            lines = self._lines[key] = half_block_lines(frames[index].image)
        return lines

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if not self._slots or self.message:
            if y == 1:
                return Strip([Segment(self.message or "", Style(dim=True))]).crop_extend(
                    0, width, None
                )
            return Strip.blank(width)
        segments: list[Segment] = []
        for slot in self._visible():
            focused = slot.clip.id == self._focus
            if y < ROWS:
                lines = self._frame_lines(slot)
                if lines is None:
                    text = "·" * SLOT_WIDTH if y == ROWS // 2 else " " * SLOT_WIDTH
                    segments.append(Segment(text, Style(dim=True)))
                else:
                    row = lines[y] if y < len(lines) else []
                    used = sum(len(s.text) for s in row)
                    pad = max(0, SLOT_WIDTH - used)
                    segments.extend(row)
                    segments.append(Segment(" " * pad))
            else:
                at = (
                    local(slot.clip.captured_at).strftime("%H:%M:%S")
                    if slot.t == 0
                    else f"+{slot.t:.0f}s"
                )
                label = at.center(SLOT_WIDTH)[:SLOT_WIDTH]
                style = Style(reverse=True, bold=True) if focused else Style(dim=True)
                segments.append(Segment(label, style))
            segments.append(Segment(" "))
        return Strip(segments).crop_extend(0, width, None)
