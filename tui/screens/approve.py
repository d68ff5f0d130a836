"""Approving: what will leave the house, and the reason, expiry and terms that go with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from tui.format import local
from tui.screens.base import VaultModal
from tui.summary import ReleaseSummary
from vault.errors import UsageError
from vault.timeutil import parse_time

DEFAULT_DAYS = 30
DEFAULT_TERMS = "Use only for the stated purpose; do not publish or pass on."


@dataclass(frozen=True)
class ApproveForm:
    reason: str
    expires: datetime | None
    terms: str | None


def parse_expiry(text: str, now: datetime) -> datetime | None:
    """Empty means never; otherwise an ISO date or time, in the future."""
    text = text.strip()
    if not text:
        return None
    when = parse_time(text, "Expires")
    if when <= now:
        raise UsageError("Expires: must be in the future")
    return when


class ApproveScreen(VaultModal[ApproveForm]):
    """Dismisses with an :class:`ApproveForm`, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="approve.cancel"),
        Binding("ctrl+s", "confirm", "Approve and sign", id="approve.confirm"),
    ]

    def __init__(self, summary: ReleaseSummary, now: datetime) -> None:
        super().__init__()
        self.summary = summary
        self.at = now

    def compose(self) -> ComposeResult:
        r = self.summary.request
        default_expiry = local(self.at + timedelta(days=DEFAULT_DAYS)).strftime("%Y-%m-%d")
        with Vertical(classes="dialog", id="approve-dialog"):
            yield Static(f"Approve: {r.requester}, {r.organisation}", classes="dialog-title")
            yield Static(self.summary.render(), id="summary")
            yield Label("Reason (written into the signed receipt)")
            yield Input(placeholder="why you agree", id="reason", compact=True)
            yield Label("Approval expires (date or time; empty: never)")
            yield Input(default_expiry, id="expires", compact=True)
            yield Label("Terms for the requester")
            yield Input(DEFAULT_TERMS, id="terms", compact=True)
            yield Static("", id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Approve and sign", variant="success", id="ok", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        if event.input.id == "terms":
            self.action_confirm()
        else:
            self.focus_next()

    @on(Button.Pressed, "#ok")
    def action_confirm(self) -> None:
        error = self.query_one("#error", Static)
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            error.update("Give a reason: it goes into the receipt the requester receives.")
            self.query_one("#reason", Input).focus()
            return
        try:
            expires = parse_expiry(self.query_one("#expires", Input).value, self.at)
        except UsageError as exc:
            error.update(exc.message)
            self.query_one("#expires", Input).focus()
            return
        terms = self.query_one("#terms", Input).value.strip() or None
        self.dismiss(ApproveForm(reason, expires, terms))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
