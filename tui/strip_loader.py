"""Filling the request screen's strip: clips decrypted one at a time, in memory,
the ones on screen first, their few frames kept and the clip's bytes dropped.

Runs in a worker thread of the request screen. Every clip goes through an
owner's :class:`vault.service.Viewing` (one ``clip.viewed`` entry per clip,
logged before it is decrypted). Two approvals are asked for: first one for
the clips on screen, so that their frames come at once, then one for all
the others (approving a hundred clips takes the vault about a second). The frames
it delivers live only in the strip's memory; :meth:`StripLoader.stop` ends
the loading (on lock, on leaving the screen, on hiding the strip).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from tui import video
from tui.widgets.strip import ROWS, SLOT_WIDTH, sample_times

if TYPE_CHECKING:
    from vault.service import ClipInfo, Viewing

THUMB_BOX = (SLOT_WIDTH, ROWS * 2)


class StripLoader:
    """Decrypts and decodes the strip's clips, nearest to what is on screen first."""

    def __init__(
        self,
        open_viewing: Callable[[list[str]], Viewing],
        clips: Sequence[ClipInfo],
        deliver: Callable[[str, list[video.Frame]], None],
    ) -> None:
        self._open_viewing = open_viewing
        self._viewings: dict[str, Viewing] = {}
        self.requests: list[str] = []
        """The owner's requests the strip's clips were approved under."""
        self._pending = {c.id: c for c in clips}
        self._order = [c.id for c in clips]
        self._wanted: list[str] = []
        self._deliver = deliver
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.loaded = 0
        self._last = ""

    def prefer(self, clip_ids: Sequence[str]) -> None:
        """Load these next (the clips on screen), then the rest around them."""
        with self._lock:
            self._wanted = [c for c in clip_ids if c in self._pending]

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _next(self) -> ClipInfo | None:
        with self._lock:
            if not self._pending:
                return None
            while self._wanted and self._wanted[0] not in self._pending:
                self._wanted.pop(0)
            if self._wanted:
                clip_id = self._wanted.pop(0)
            else:
                anchor = self._order.index(self._last) if self._last in self._order else 0
                clip_id = min(self._pending, key=lambda c: abs(self._order.index(c) - anchor))
            self._last = clip_id
            return self._pending.pop(clip_id)

    def run(self) -> None:
        """Load until every clip is in or :meth:`stop`; a refusal of the guard
        (the approval lapsed, the log changed) ends it by raising."""
        with self._lock:
            first = [c for c in self._wanted if c in self._pending]
        if first:
            self._approve(first)
        while not self._stop.is_set():
            clip = self._next()
            if clip is None:
                return
            if clip.id not in self._viewings:
                with self._lock:
                    rest = [clip.id, *(c for c in self._pending if c not in self._viewings)]
                self._approve(rest)
                if self._stop.is_set():
                    return
            data = self._viewings[clip.id].read(clip.id)
            try:
                frames = video.frames_at(data, sample_times(clip.duration_s), THUMB_BOX)
            except video.DecodeError:
                frames = []
            del data  # the clip's bytes go at once: only its few small frames stay
            if self._stop.is_set():
                return
            self.loaded += 1
            self._deliver(clip.id, frames)

    def _approve(self, clip_ids: list[str]) -> None:
        viewing = self._open_viewing(clip_ids)
        self.requests.append(viewing.request_id)
        for clip_id in clip_ids:
            self._viewings[clip_id] = viewing
