"""The audit log: every event, newest first, and whether the whole log verifies."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from tui.format import truncate
from tui.screens.base import VaultScreen
from tui.widgets.status_bar import StatusBar
from tui.widgets.tables import LazyTable

PAGE = 200


class AuditScreen(VaultScreen):
    """Newest entries first; older ones load as you scroll down."""

    TITLE = "Audit log"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="audit.back"),
        Binding("v", "verify", "Verify again", id="audit.verify"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[tuple[int, dict[str, Any]]] = []
        self._oldest: int | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Verifying the log…", id="verify")
        table = LazyTable(id="entries")
        # Fixed widths: no re-measuring as pages arrive, no jitter.
        table.add_column("#", key="index", width=6)
        table.add_column("Time (UTC)", key="time", width=19)
        table.add_column("Event", key="type", width=18)
        table.add_column("By", key="actor", width=6)
        table.add_column("Subject", key="subject", width=20)
        yield table
        yield Static("", id="entry")
        yield StatusBar()
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.action_verify()
        self.call_vault(self.vault.audit.size, self._size_loaded, name="audit size")

    def action_verify(self) -> None:
        self.query_one("#verify", Static).update(Text("Verifying the whole log…", style="dim"))
        self.call_vault(
            lambda: self.vault.audit.verify(self.vault.verifier_keys()),
            self._verified,
            name="audit verify",
        )

    def _verified(self, report: Any) -> None:
        if report.ok:
            text = Text(f"✔ Verified: {report.reason}", style="bold green")
        else:
            where = (
                f" at entry {report.first_bad_index}" if report.first_bad_index is not None else ""
            )
            text = Text(f"✘ The log does not verify{where}: {report.reason}", style="bold red")
        self.query_one("#verify", Static).update(text)

    def _size_loaded(self, size: int) -> None:
        self._oldest = size
        self._load_older()

    def _load_older(self) -> None:
        if self._oldest is None or self._oldest <= 0:
            self.query_one(LazyTable).page_loaded(0, PAGE)
            return
        end = self._oldest
        since = max(0, end - PAGE)
        self._oldest = since
        self.call_vault(
            lambda: list(self.vault.audit.entries(since, end - since)),
            self._page_loaded,
            name="audit entries",
        )

    def _page_loaded(self, page: list[tuple[int, dict[str, Any]]]) -> None:
        table = self.query_one(LazyTable)
        for index, entry in reversed(page):
            self.entries.append((index, entry))
            table.add_row(
                str(index),
                str(entry.get("time", ""))[:19].replace("T", " "),
                entry.get("type", ""),
                entry.get("actor", ""),
                truncate(entry.get("subject") or "", 24),
                key=str(index),
            )
        table.page_loaded(len(page) if self._oldest else 0, PAGE)

    @on(LazyTable.NeedMore)
    def _need_more(self, _event: LazyTable.NeedMore) -> None:
        self._load_older()

    @on(DataTable.RowHighlighted, "#entries")
    def _show_entry(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self.entries):
            details = self.entries[event.cursor_row][1].get("details", {})
            self.query_one("#entry", Static).update(
                truncate(json.dumps(details, sort_keys=True, ensure_ascii=False), 230)
            )

    def action_back(self) -> None:
        self.dismiss()
