"""Looking at a clip before deciding: facts, a still frame, the system player.

The clip is decrypted in memory by ``vault.releases.view``, which files and
approves an owner's request for exactly that clip and logs the view: looking
is a release like any other, and the audit log shows it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Footer, Header, Static

from tui.format import clock_time, duration, human_size
from tui.player import find_player, is_launcher, play
from tui.screens.base import VaultScreen
from tui.widgets.still import StillFrame
from vault.service import ClipInfo

if TYPE_CHECKING:
    from PIL.Image import Image

    from tui.app import RingfenceApp


def start_preview(app: RingfenceApp, clip: ClipInfo, default_reason: str) -> None:
    """Ask why, unlock if needed, decrypt in a worker, then show the preview."""
    from tui.screens.ask import AskScreen

    def decrypt(reason: str) -> tuple[bytes, Image | None]:
        from tui.widgets.frame import still_frame

        data = app.vault.releases.view(clip.id, reason)
        return data, still_frame(data)

    def show(result: tuple[bytes, Image | None]) -> None:
        app.push_screen(PreviewScreen(clip, *result))

    def asked(reason: str | None) -> None:
        if reason:
            job = app.key_job(lambda: decrypt(reason))
            app.with_key(lambda: app.call_vault(job, show, name="preview"))

    app.push_screen(AskScreen(
        "Preview a clip",
        "Previewing decrypts the clip in memory and is written to the audit log as your "
        "own view. Why are you looking?",
        default_reason, ok="Decrypt and show"), asked)


def facts(clip: ClipInfo, data: bytes, has_frame: bool) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("Camera", clip.camera)
    grid.add_row("Captured", clock_time(clip.captured_at))
    grid.add_row("Length", duration(clip.duration_s))
    picture = f"{clip.width}×{clip.height}" if clip.width else "-"
    grid.add_row("Picture", picture)
    grid.add_row("Codec", f"{clip.codec or '-'} in {clip.container or '-'}")
    grid.add_row("Size", f"{human_size(len(data))}")
    grid.add_row("SHA-256", f"{clip.sha256[:16]}…")
    grid.add_row("File", clip.original_name)
    grid.add_row("", "")
    grid.add_row("", Text("Decrypted in memory only. This view is in the audit log.",
                          style="dim"))
    if not has_frame:
        grid.add_row("", Text("No still frame here: it needs PyAV and Pillow (the media "
                              "extra) and a colour terminal.", style="yellow"))
    return grid


class PreviewScreen(VaultScreen):
    """A decrypted clip, held in memory while this screen is open."""

    TITLE = "Preview"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="preview.back"),
        Binding("o", "play", "Play in player", id="preview.play"),
    ]

    def __init__(self, clip: ClipInfo, data: bytes, image: Image | None) -> None:
        super().__init__()
        self.clip = clip
        self.data: bytes | None = data
        self.image = image
        self._temps: list[Path] = []  # every copy this preview handed to a player

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="preview"):
            yield StillFrame(self.image, "(no still frame)", id="still")
            yield Static(id="facts")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.sub_title = f"{self.clip.camera} {clock_time(self.clip.captured_at)}"
        shows = self.query_one(StillFrame).shows_image
        self.query_one("#facts", Static).update(facts(self.clip, self.data or b"", shows))

    def action_back(self) -> None:
        self.dismiss()

    def action_play(self) -> None:
        command = find_player()
        if command is None:
            self.notify("No video player found. Install mpv or vlc, or set RINGFENCE_PLAYER "
                        "(e.g. RINGFENCE_PLAYER='mpv --loop').", severity="warning")
            return
        if self.data is None:
            return
        suffix = os.path.splitext(self.clip.original_name)[1].lower() or ".mp4"
        temps = self.rf.temp_clips
        path = temps.write(self.data, suffix if len(suffix) <= 6 else ".mp4")
        self._temps.append(path)
        launcher = is_launcher(command)

        def run() -> int:
            code = play(command, path)
            if not launcher:
                temps.remove(path)
            return code

        self.notify(f"Playing with {Path(command[0]).name}; the temporary copy is removed "
                    "when it exits" + (" and this preview closes." if launcher else "."))
        self.call_vault(run, self._played, name="player", exclusive=False)

    def _played(self, code: Any) -> None:
        if code not in (0, None):
            self.notify(f"The player exited with status {code}.", severity="warning")

    def on_unmount(self) -> None:
        for path in self._temps:
            self.rf.temp_clips.remove(path)
        self._temps.clear()
        self.data = None
        self.image = None  # the decoded still frame goes too
