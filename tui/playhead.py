"""Where the preview's player is in its clip: a pure state machine over frame times.

The frames arrive from a decoding thread (``times`` grows while playing);
the playhead turns key presses and the clock into "which frame to show".
The clock is injected, so tests step through time themselves.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable


class Playhead:
    """Play/pause, seek and step over the times of decoded frames.

    *times* is the list of decoded frame times (seconds from the clip's start,
    ascending), shared with the decoder, which appends to it; *duration* is
    the clip's length as its container says.
    """

    def __init__(self, times: list[float], duration: float, clock: Callable[[], float]) -> None:
        self.times = times
        self.duration = duration
        self.clock = clock
        self.index = 0
        self.playing = False
        self._anchor = (0.0, 0.0)  # (clock, position) when playing began

    @property
    def position(self) -> float:
        """The time of the frame shown (0 before any frame is decoded)."""
        if not self.times:
            return 0.0
        return self.times[min(self.index, len(self.times) - 1)]

    @property
    def length(self) -> float:
        """The clip's length: the container's, or the last frame's if later."""
        return max(self.duration, self.times[-1] if self.times else 0.0)

    def tick(self) -> bool:
        """Advance while playing; True when the frame to show changed.

        Playing stops at the last frame once the decoder has delivered it
        (its time is at the clip's end), and waits for frames not yet decoded.
        """
        if not self.playing or not self.times:
            return False
        start_clock, start_pos = self._anchor
        wanted = start_pos + (self.clock() - start_clock)
        index = max(0, bisect.bisect_right(self.times, wanted + 1e-9) - 1)
        changed = index != self.index
        self.index = index
        if index == len(self.times) - 1 and wanted >= self.length:
            self.playing = False
        return changed

    def toggle(self) -> None:
        """Play or pause; playing from the last frame starts again at the first."""
        if self.playing:
            self.tick()
            self.playing = False
            return
        if self.times and self.index >= len(self.times) - 1 and self.position >= self.length - 0.2:
            self.index = 0
        self.playing = True
        self._anchor = (self.clock(), self.position)

    def seek(self, seconds: float) -> None:
        """Move by *seconds* (negative: back), to the frame at or before that time."""
        self.go_to(self.position + seconds)

    def go_to(self, t: float) -> None:
        if not self.times:
            return
        t = min(max(0.0, t), self.times[-1])
        self.index = max(0, bisect.bisect_right(self.times, t + 1e-9) - 1)
        self._anchor = (self.clock(), self.position)

    def step(self, frames: int) -> None:
        """Move by *frames* (negative: back) and pause: stepping is for looking closely."""
        if not self.times:
            return
        self.playing = False
        self.index = min(max(0, self.index + frames), len(self.times) - 1)

    def home(self) -> None:
        self.go_to(0.0)

    def end(self) -> None:
        """The last frame decoded so far (the clip's last once decoding is done)."""
        if self.times:
            self.playing = False
            self.index = len(self.times) - 1


def clock_text(seconds: float) -> str:
    """``MM:SS.s``: minutes, seconds and tenths (``83.46`` → ``01:23.4``)."""
    tenths = int(max(0.0, seconds) * 10 + 1e-6)
    minutes, rest = divmod(tenths, 600)
    return f"{minutes:02d}:{rest // 10:02d}.{rest % 10}"
