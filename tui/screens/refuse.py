"""Refusing: a reason, and where to put the signed refusal receipt."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from tui.screens.base import VaultModal
from vault.service import RequestInfo


@dataclass(frozen=True)
class RefuseForm:
    reason: str
    receipt_dir: Path | None


class RefuseScreen(VaultModal[RefuseForm]):
    """Dismisses with a :class:`RefuseForm`, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="refuse.cancel"),
        Binding("ctrl+s", "confirm", "Refuse and sign", id="refuse.confirm"),
    ]

    def __init__(self, request: RequestInfo, receipt_dir: Path) -> None:
        super().__init__()
        self.request = request
        self.receipt_dir = receipt_dir

    def compose(self) -> ComposeResult:
        r = self.request
        with Vertical(classes="dialog", id="refuse-dialog"):
            yield Static(f"Refuse: {r.requester}, {r.organisation}", classes="dialog-title")
            yield Static(
                "Nothing will leave the house. The requester can be given a signed "
                "receipt that shows you refused, and why.",
                id="summary",
            )
            yield Label("Reason (written into the signed receipt)")
            yield Input(placeholder="why you refuse", id="reason", compact=True)
            yield Label("Write the refusal receipt to (empty: keep it in the vault only)")
            yield Input(str(self.receipt_dir), id="receipt-dir", compact=True)
            yield Static("", id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Refuse and sign", variant="error", id="ok", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        if event.input.id == "receipt-dir":
            self.action_confirm()
        else:
            self.focus_next()

    @on(Button.Pressed, "#ok")
    def action_confirm(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.query_one("#error", Static).update("Give a reason: it goes into the receipt.")
            self.query_one("#reason", Input).focus()
            return
        folder = self.query_one("#receipt-dir", Input).value.strip()
        self.dismiss(RefuseForm(reason, Path(folder).expanduser() if folder else None))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
