"""Watching a clip before deciding: a player in the terminal, the clip's facts,
and the system's player through a pipe.

The clip is decrypted in memory by ``vault.releases.view``, which files and
approves an owner's request for exactly that clip and logs the view: looking
is a release like any other, and the audit log shows it. Its frames are
decoded with PyAV from those bytes (``tui.video``) in a worker thread, at the
size the screen shows them, and played from memory; the "play in player" key
hands the same bytes to a player's standard input (``vault.viewer``). Closing
the preview, locking the vault (also the idle lock) and quitting stop
playback, end any player started from here and drop the clip and its frames.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, Static

from tui import video
from tui.format import clock_time, duration, human_size, local
from tui.playhead import Playhead, clock_text
from tui.screens.base import VaultScreen
from tui.widgets.picture import make_picture
from vault.service import ClipInfo

if TYPE_CHECKING:
    from PIL.Image import Image

    from tui.app import RingfenceApp

TICK = 1 / 30
"""How often the player looks at the clock while playing (twice a 15 fps frame)."""


class Opened:
    """A clip decrypted for the preview: its bytes and what its container says."""

    def __init__(self, clip: ClipInfo, data: bytes, box: tuple[int, int] | None = None) -> None:
        """*box*: decode the first frame now, at about that size (in the worker that
        decrypted the clip), so the preview shows it as soon as it opens."""
        self.clip = clip
        self.data = data
        self.first: video.Frame | None = None
        try:
            self.facts: video.Facts | None = video.facts(data)
            self.problem: str | None = None
            if box is not None:
                first = video.frames_at(data, [0.0], box)
                self.first = first[0] if first else None
        except video.DecodeError as exc:
            self.facts, self.problem = None, str(exc)


FACTS_WIDTH = 38
"""The facts column's width (app.tcss ``#facts``); the picture has the rest."""


def picture_box(app: RingfenceApp) -> tuple[int, int]:
    """About the pixels the preview's picture will have on this screen."""
    from tui import graphics

    cells = (max(4, app.size.width - FACTS_WIDTH - 2), max(2, app.size.height - 3))
    if app.graphics == graphics.HALFBLOCK:
        return (cells[0], cells[1] * 2)
    from tui.widgets.picture import MAX_GRAPHICS

    cw, ch = graphics.cell_pixels()
    return (min(MAX_GRAPHICS[0], cells[0] * cw), min(MAX_GRAPHICS[1], cells[1] * ch))


def start_preview(
    app: RingfenceApp, clip: ClipInfo, default_reason: str, siblings: Sequence[ClipInfo] = ()
) -> None:
    """Ask why, unlock if needed, decrypt in a worker, then show the preview.

    *siblings*: the clips ``n``/``N`` move through (the request's, the day's).
    """
    from tui.screens.ask import AskScreen

    def asked(reason: str | None) -> None:
        if reason:
            box = picture_box(app)
            job = app.key_job(lambda: Opened(clip, app.vault.releases.view(clip.id, reason), box))
            app.with_key(
                lambda: app.call_vault(job, lambda opened: show(opened, reason), name="preview")
            )

    def show(opened: Opened, reason: str) -> None:
        app.push_screen(PreviewScreen(opened, reason, siblings))

    app.push_screen(
        AskScreen(
            "Preview a clip",
            "Previewing decrypts the clip in memory and is written to the audit log as your "
            "own view. Why are you looking?",
            default_reason,
            ok="Decrypt and show",
        ),
        asked,
    )


def facts_table(opened: Opened, shows: str | None) -> Table:
    clip = opened.clip
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("Camera", clip.camera)
    grid.add_row("Captured", clock_time(clip.captured_at))
    grid.add_row("Length", duration(clip.duration_s))
    picture = f"{clip.width}×{clip.height}" if clip.width else "-"
    if opened.facts is not None:
        picture += f", {opened.facts.fps:g} fps"
    grid.add_row("Picture", picture)
    grid.add_row("Codec", f"{clip.codec or '-'} in {clip.container or '-'}")
    if opened.facts is not None:
        grid.add_row("Audio", "yes (not played here)" if opened.facts.has_audio else "none")
    grid.add_row("Size", f"{human_size(len(opened.data))}")
    grid.add_row("SHA-256", f"{clip.sha256[:16]}…")
    grid.add_row("File", clip.original_name)
    if clip.truncated:
        grid.add_row(
            "",
            Text(
                "Truncated: this clip arrived cut short; it is shown as received.", style="yellow"
            ),
        )
    grid.add_row("", "")
    grid.add_row("", Text("Decrypted in memory only. This view is in the audit log.", style="dim"))
    if shows:
        grid.add_row("", Text(f"Shown with {shows}.", style="dim"))
    if opened.problem:
        grid.add_row("", Text(f"No picture: {opened.problem}.", style="yellow"))
    return grid


class PreviewScreen(VaultScreen):
    """A decrypted clip, held in memory while this screen is open, and played."""

    TITLE = "Preview"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="preview.back"),
        Binding("space", "play_pause", "Play/pause", id="preview.play_pause"),
        Binding("left", "seek(-1)", "-1 s", id="preview.seek_back"),
        Binding("right", "seek(1)", "+1 s", id="preview.seek_forward"),
        Binding("shift+left", "step(-1)", "-1 frame", id="preview.frame_back", show=False),
        Binding("shift+right", "step(1)", "+1 frame", id="preview.frame_forward", show=False),
        Binding("home", "home", "Start", id="preview.start", show=False),
        Binding("end", "end", "End", id="preview.end", show=False),
        Binding("n", "next_clip(1)", "Next clip", id="preview.next_clip"),
        Binding("N", "next_clip(-1)", "Previous clip", id="preview.previous_clip", show=False),
        Binding("o", "play", "Play in player", id="preview.play"),
    ]

    def __init__(
        self,
        opened: Opened,
        reason: str = "",
        siblings: Sequence[ClipInfo] = (),
        *,
        autoplay: bool = True,
    ) -> None:
        super().__init__()
        self.opened: Opened | None = opened
        self.reason = reason
        self.neighbours = list(siblings)
        self.autoplay = autoplay
        self._times: list[float] = []
        self._images: list[Image] = []
        self.playhead = Playhead(self._times, 0.0, time.monotonic)
        self._stop = threading.Event()
        self._shown = -1
        self._decoded = False
        self.first_frame_at: float | None = None
        """When the first frame was drawn (time.monotonic), for tests and benchmarks."""
        # When the player drew its first and its newest frame (the pace it shows at).
        self.first_drawn_at: float | None = None
        self.last_drawn_at: float | None = None
        self.frames_drawn = 0

    @property
    def clip(self) -> ClipInfo:
        assert self.opened is not None
        return self.opened.clip

    @property
    def data(self) -> bytes | None:
        return None if self.opened is None else self.opened.data

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="preview"):
            with Vertical(id="player"):
                yield make_picture(self.rf.graphics, "(no picture)", id="video")
                yield Static(id="position")
            yield Static(id="facts")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.set_interval(TICK, self._tick)
        self._opened()

    def _picture(self) -> Any:
        """The picture widget (half-blocks, Kitty or Sixel: each has show and pixel_box)."""
        return self.query_one("#video")

    # --- the clip ---------------------------------------------------------------------

    def _opened(self) -> None:
        from tui.graphics import label

        opened = self.opened
        assert opened is not None
        self.sub_title = f"{opened.clip.camera} {clock_time(opened.clip.captured_at)}"
        where = self._sibling_index()
        if len(self.neighbours) > 1 and where >= 0:
            self.sub_title += f" · clip {where + 1} of {len(self.neighbours)}"
        picture = self._picture()
        shows = label(self.rf.graphics) if picture.shows_image or opened.facts else None
        self.query_one("#facts", Static).update(facts_table(opened, shows))
        self._stop = threading.Event()
        self._times = []
        self._images = []
        self.playhead = Playhead(
            self._times, opened.facts.duration_s if opened.facts else 0.0, time.monotonic
        )
        self._shown = -1
        self._decoded = False
        picture.show(opened.first.image if opened.first is not None else None)
        if opened.first is not None and self.first_frame_at is None:
            self.first_frame_at = time.monotonic()  # decoded with the clip, shown at once
        self._show_position()
        if opened.facts is not None:
            self.call_after_refresh(self._start_decoding)

    def _start_decoding(self) -> None:
        if self.opened is None:
            return
        box = self._picture().pixel_box()
        self._decode(self.opened.data, box, self._stop, self._times, self._images)

    @work(thread=True, exclusive=True, group="decode", exit_on_error=False)
    def _decode(
        self,
        data: bytes,
        box: tuple[int, int],
        stop: threading.Event,
        times: list[float],
        images: list[Image],
    ) -> None:
        def got(frame: video.Frame) -> None:
            images.append(frame.image)
            times.append(frame.t)  # after the image: a time always has its picture

        try:
            video.decode(data, box, got, stop)
        except video.DecodeError as exc:
            if not stop.is_set():
                self.app.call_from_thread(
                    self.notify, f"Cannot play this clip: {exc}.", severity="warning"
                )
        if not stop.is_set():
            self.app.call_from_thread(self._decoding_done, times)

    def _decoding_done(self, times: list[float]) -> None:
        if times is self._times:
            self._decoded = True
            self._show_position()

    # --- playing ----------------------------------------------------------------------

    def _tick(self) -> None:
        if not self._times:
            return
        if self._shown < 0 and self.autoplay and not self.playhead.playing:
            self.playhead.toggle()
        was_playing = self.playhead.playing
        self.playhead.tick()
        self._draw()
        if was_playing and not self.playhead.playing:
            self._show_position()  # the end reached: the sign says paused, not ▶

    def _draw(self) -> None:
        index = min(self.playhead.index, len(self._times) - 1)
        if index < 0 or index == self._shown:
            return
        self._shown = index
        self._picture().show(self._images[index])
        self.frames_drawn += 1
        self.last_drawn_at = time.monotonic()
        if self.first_drawn_at is None:
            self.first_drawn_at = self.last_drawn_at
        if self.first_frame_at is None:
            self.first_frame_at = self.last_drawn_at
        self._show_position()

    def _show_position(self) -> None:
        head = self.playhead
        line = Text()
        line.append("▶ " if head.playing else "❚❚ ", style="bold")
        line.append(f"{clock_text(head.position)} / {clock_text(head.length)}", style="bold")
        if self.opened is not None and self._times:
            at = local(self.opened.clip.captured_at + timedelta(seconds=head.position))
            line.append(f"  {at:%Y-%m-%d %H:%M:%S}.{at.microsecond // 100_000}")
            total = "" if self._decoded else "+"
            line.append(
                f"  frame {min(head.index, len(self._times) - 1) + 1}/{len(self._times)}{total}",
                style="dim",
            )
        elif self.opened is not None and self.opened.facts is not None:
            line.append("  decoding…", style="dim")
        self.query_one("#position", Static).update(line)

    def action_play_pause(self) -> None:
        self.playhead.toggle()
        self._draw()
        self._show_position()

    def action_seek(self, seconds: float) -> None:
        self.playhead.seek(seconds)
        self._draw()
        self._show_position()

    def action_step(self, frames: int) -> None:
        self.playhead.step(frames)
        self._draw()
        self._show_position()

    def action_home(self) -> None:
        self.playhead.home()
        self._draw()
        self._show_position()

    def action_end(self) -> None:
        self.playhead.end()
        self._draw()
        self._show_position()

    # --- the next clip ------------------------------------------------------------------

    def _sibling_index(self) -> int:
        ids = [c.id for c in self.neighbours]
        return ids.index(self.clip.id) if self.clip.id in ids else -1

    def action_next_clip(self, step: int) -> None:
        where = self._sibling_index()
        target = where + step
        if where < 0 or not 0 <= target < len(self.neighbours):
            self.notify(
                "This is the last clip." if step > 0 else "This is the first clip.",
                severity="information",
                timeout=3,
            )
            return
        clip = self.neighbours[target]
        reason = self.reason or "looking at the next clip"
        box = picture_box(self.rf)
        job = self.rf.key_job(lambda: Opened(clip, self.vault.releases.view(clip.id, reason), box))
        self.rf.with_key(lambda: self.call_vault(job, self._next_opened, name="next clip"))

    def _next_opened(self, opened: Opened) -> None:
        self._drop()
        self.opened = opened
        self._opened()

    # --- the system's player --------------------------------------------------------------

    def action_play(self) -> None:
        from vault.errors import UsageError
        from vault.viewer import PlayerProcess, find_player, sized_for

        try:
            command = find_player()
        except UsageError as exc:
            self.notify(exc.message, severity="warning")
            return
        if command is None:
            self.notify(
                "No video player found. Install mpv or ffplay, or set RINGFENCE_PLAYER "
                "to a command that reads the clip on its standard input "
                "(e.g. RINGFENCE_PLAYER='mpv -').",
                severity="warning",
            )
            return
        data = self.data
        if data is None:
            return
        command = sized_for(command, len(data))
        try:
            player = PlayerProcess(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except UsageError as exc:
            self.notify(exc.message, severity="warning")
            return
        players = self.rf.players
        players.add(player)

        def write(sink: Any) -> None:
            view = memoryview(data)
            for i in range(0, len(view), 1 << 16):
                sink.write(view[i : i + (1 << 16)])

        def run() -> int:
            try:
                return player.feed(write).exit_code
            finally:
                players.discard(player)

        self.notify(
            f"Playing with {Path(command[0]).name}, through a pipe: no copy is "
            "written. It is stopped when this preview closes."
        )
        self.call_vault(run, self._played, name="player", exclusive=False)

    def _played(self, code: Any) -> None:
        if code not in (0, None, -15):
            self.notify(f"The player exited with status {code}.", severity="warning")

    # --- closing ------------------------------------------------------------------------

    def action_back(self) -> None:
        self.dismiss()

    def _drop(self) -> None:
        """Stop decoding and forget the clip's frames."""
        self._stop.set()
        self.playhead.playing = False
        self._images.clear()
        self._times.clear()
        self._shown = -1
        for picture in self.query("#video"):
            picture.show(None)  # type: ignore[attr-defined]

    def on_unmount(self) -> None:
        self._drop()
        self.rf.stop_players()
        self.opened = None  # the plaintext goes too
