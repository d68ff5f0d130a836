"""Help: how deciding works, and every key of the screen underneath."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.screens.base import VaultModal

GUIDE = (
    "Requests arrive in the inbox, emergency claims and near deadlines first. Open one, "
    "look at the clips in its scope (p previews one; the view is logged), tick the ones "
    "you agree to release, then approve (a) or refuse (x). Every decision is signed with "
    "your key and logged; an approval is then exported (e) with a receipt the requester "
    "can verify offline. Keys can be remapped in the vault's config.toml [tui.keys] by "
    "the ids below."
)


class HelpScreen(VaultModal[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="help.close"),
    ]

    def __init__(self, keys: list[tuple[str, str, str]], title: str) -> None:
        super().__init__()
        self.keys = keys
        self.screen_title = title

    def compose(self) -> ComposeResult:
        table = Table(box=None, padding=(0, 1), show_header=True, header_style="bold")
        table.add_column("Key", style="bold cyan", no_wrap=True)
        table.add_column("Does")
        table.add_column(Text("Id (for [tui.keys])"), style="dim")
        for key, description, binding_id in self.keys:
            table.add_row(Text(key), Text(description), Text(binding_id))
        with VerticalScroll(classes="dialog", id="help-dialog"):
            yield Static(f"Help: {self.screen_title}", classes="dialog-title")
            yield Static(Text(GUIDE))
            yield Static(table)
            yield Static(
                Text(
                    "Mouse: click rows, buttons and the keys in the footer. "
                    "Esc or ? closes this help.",
                    style="dim",
                )
            )

    def action_close(self) -> None:
        self.dismiss(None)
