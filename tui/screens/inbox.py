"""The inbox: every request, pending first, emergency claims and deadlines marked."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static
from textual.widgets.data_table import RowDoesNotExist

from tui.format import relative, status_text
from tui.screens.base import VaultScreen
from tui.widgets.status_bar import StatusBar
from tui.widgets.tables import LazyTable, RequestTable, cell
from vault.service import RequestInfo, Status

PAGE = 200

EMPTY = (
    "No requests yet.\n\n"
    "When the police, an insurer or a neighbour asks for footage, file their request with\n"
    "  ringfence request add …   or   ringfence request import request.toml\n"
    "and it appears here for your decision. Press c to browse your clips."
)


SHORT_STATUS: dict[str, str] = {Status.PARTLY_APPROVED: "partial"}
SHORT_BASIS = {"court-order": "court order", "owner": "own view"}


def request_row(r: RequestInfo, now: datetime) -> list[Text | str]:
    """The inbox row of *r*: mark, status, who, basis, deadline."""
    pending = r.status == Status.PENDING
    if pending and r.urgent:
        mark = Text("EMERGENCY", style="bold white on red")
    elif r.near_deadline(now):
        mark = Text("DUE SOON", style="bold black on yellow")
    else:
        mark = Text("")
    status = status_text(r.status)
    status.plain = SHORT_STATUS.get(r.status, status.plain)
    return [
        mark,
        status,
        cell(f"{r.organisation} · {r.requester}"),
        SHORT_BASIS.get(r.basis, r.basis),
        relative(r.deadline, now) if pending else "-",
    ]


class InboxScreen(VaultScreen):
    """Requests for footage, the ones waiting for you first."""

    TITLE = "Requests"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "clips", "Clips", id="inbox.clips"),
        Binding("l", "audit", "Audit log", id="inbox.audit"),
        Binding("r", "reload", "Reload", id="inbox.reload"),
        Binding("o", "toggle_own", "Own views", id="inbox.own_views", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.show_own_views = False
        self._offset = 0  # requests read from the service so far (owner views included)
        self._generation = 0  # bumps on reload; older pages are dropped
        self._reselect: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        if self.rf.notice:
            yield Static(self.rf.notice, id="notice")
        yield Static("Loading requests…", id="counts")
        table = RequestTable(id="requests")
        # Fixed widths: no re-measuring as pages arrive, no jitter.
        table.add_column("", key="mark", width=9)
        table.add_column("Status", key="status", width=9)
        table.add_flex_column("From", key="from", min_width=24)
        table.add_column("Basis", key="basis", width=11)
        table.add_column("Deadline", key="deadline", width=8)
        yield table
        yield Static(EMPTY, id="empty")
        yield StatusBar()
        yield Footer(show_command_palette=False)

    def on_screen_resume(self) -> None:
        self.reload()

    # --- loading ----------------------------------------------------------------

    def reload(self) -> None:
        table = self.query_one(RequestTable)
        if table.row_count:
            self._reselect = str(
                table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            )
        self._generation += 1
        self._offset = 0
        table.reset()
        self._load_page()  # the counts follow the first page: rows first, numbers next

    def _load_page(self) -> None:
        generation, offset = self._generation, self._offset
        self.call_vault(
            lambda: self.vault.requests.all(limit=PAGE, offset=offset),
            lambda rows: self._page_loaded(generation, rows),
            name="requests page",
        )

    def _page_loaded(self, generation: int, rows: list[RequestInfo]) -> None:
        if generation != self._generation:
            return
        table = self.query_one(RequestTable)
        if self._offset == 0:
            self._load_counts()
        self._offset += len(rows)
        now = self.now()
        shown = [r for r in rows if self.show_own_views or r.kind != "owner"]
        for r in shown:
            table.add_row(*request_row(r, now), key=r.id)
        table.page_loaded(len(rows), PAGE)
        if self._reselect is not None:
            # The row may be on a later page, or gone.
            with contextlib.suppress(RowDoesNotExist):
                table.move_cursor(row=table.get_row_index(self._reselect))
                self._reselect = None
        empty = table.row_count == 0 and table.exhausted
        self.query_one("#empty").display = empty
        table.display = not empty
        if not empty and not shown and not table.exhausted:
            # A page of nothing but owner views: keep reading.
            table.check_need_more()

    @on(LazyTable.NeedMore)
    def _need_more(self, _event: LazyTable.NeedMore) -> None:
        self._load_page()

    def _load_counts(self) -> None:
        self.call_vault(
            lambda: self.vault.requests.all(status=Status.PENDING),
            self._counts_loaded,
            name="pending counts",
        )

    def _counts_loaded(self, pending: list[RequestInfo]) -> None:
        now = self.now()
        urgent = sum(1 for r in pending if r.urgent)
        near = sum(1 for r in pending if r.near_deadline(now))
        text = Text()
        if not pending:
            text.append("Nothing waiting for your decision.", style="green")
        else:
            text.append(f"{len(pending)} pending", style="bold yellow")
            parts = []
            if urgent:
                parts.append(
                    Text(f"{urgent} emergency claim{'s' if urgent != 1 else ''}", style="bold red")
                )
            if near:
                parts.append(Text(f"{near} due within 48 h", style="bold"))
            if parts:
                text.append(" — ")
                text.append(Text(", ").join(parts))
        text.append("   Enter opens a request.", style="dim")
        self.query_one("#counts", Static).update(text)

    # --- actions ------------------------------------------------------------------

    @on(DataTable.RowSelected, "#requests")
    def _open(self, event: DataTable.RowSelected) -> None:
        from tui.screens.request import RequestScreen

        self.app.push_screen(RequestScreen(str(event.row_key.value)))

    def action_reload(self) -> None:
        self.reload()
        self.rf.refresh_status()

    def action_toggle_own(self) -> None:
        self.show_own_views = not self.show_own_views
        self.notify(
            "Showing your own clip views too."
            if self.show_own_views
            else "Hiding your own clip views."
        )
        self.reload()

    def action_clips(self) -> None:
        from tui.screens.clips import ClipsScreen

        self.app.push_screen(ClipsScreen())

    def action_audit(self) -> None:
        from tui.screens.audit import AuditScreen

        self.app.push_screen(AuditScreen())
