"""The status bar: is the daemon alive, what came in last, what is waiting, space."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from tui.format import human_size, relative

if TYPE_CHECKING:
    from tui.app import RingfenceApp
    from vault.service import VaultStatus


def status_parts(
    status: VaultStatus | None, unlocked: bool, now: datetime
) -> list[tuple[int, Text]]:
    """(priority, text) pieces of the status line; lower priority goes first when narrow."""
    lock = Text("unlocked" if unlocked else "locked", style="bold magenta" if unlocked else "dim")
    if status is None:
        return [(9, Text("checking the vault…", style="dim")), (8, lock)]
    parts: list[tuple[int, Text]] = []
    if status.daemon.running:
        parts.append((9, Text("● daemon up", style="bold green")))
    else:
        parts.append((9, Text("○ daemon DOWN", style="bold red")))
    last = status.last_ingest
    parts.append((7, Text(f"last clip {relative(last, now) if last else 'never'}")))
    waiting = status.files_waiting
    parts.append((6, Text(f"{waiting} waiting", style="bold yellow" if waiting else "")))
    parts.append((2, Text(f"{human_size(status.store_bytes)} stored")))
    low = status.low_disk
    parts.append(
        (
            8 if low else 3,
            Text(
                f"{human_size(status.free_bytes)} free" + (" LOW" if low else ""),
                style="bold red" if low else "",
            ),
        )
    )
    parts.append((8, lock))
    return parts


def status_line(
    status: VaultStatus | None, unlocked: bool, now: datetime, width: int = 200
) -> Text:
    """One line for ``vault.status.report()``: daemon, last ingest, waiting files, storage, key."""
    parts = status_parts(status, unlocked, now)
    sep = Text(" │ ", style="dim")
    while len(parts) > 1 and sum(len(t) for _p, t in parts) + 3 * (len(parts) - 1) > width:
        parts.remove(min(parts, key=lambda p: p[0]))
    return sep.join(t for _p, t in parts)


class StatusBar(Static):
    """Follows the app's ``status_info`` and ``key_unlocked``."""

    def on_mount(self) -> None:
        app: RingfenceApp = self.app  # type: ignore[assignment]
        self.watch(app, "status_info", self._show)
        self.watch(app, "key_unlocked", self._show)

    def _show(self, _value: object = None) -> None:
        app: RingfenceApp = self.app  # type: ignore[assignment]
        width = max(self.size.width - 2, 20) if self.size.width else 78
        self.update(status_line(app.status_info, app.key_unlocked, app.vault.clock(), width))

    def on_resize(self) -> None:
        self._show()
