"""A small reusable dialog that asks for one line of text."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from tui.screens.base import VaultModal


class AskScreen(VaultModal[str]):
    """Dismisses with the text typed (never empty), or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="ask.cancel"),
    ]

    def __init__(self, title: str, prompt: str, value: str = "", ok: str = "OK") -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.value = value
        self.ok = ok

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="ask-dialog"):
            yield Static(self.title_text, classes="dialog-title")
            yield Static(self.prompt)
            yield Input(self.value, id="answer", compact=True)
            yield Static("", id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button(self.ok, variant="primary", id="ok", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def confirm(self) -> None:
        text = self.query_one(Input).value.strip()
        if not text:
            self.query_one("#error", Static).update("This cannot be empty.")
            return
        self.dismiss(text)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
