"""Unlocking the owner's keys: asked once, when a key is first needed."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static
from textual.worker import Worker, WorkerState

from tui.screens.base import VaultModal


class PassphraseScreen(VaultModal[bool]):
    """Dismisses with True once the vault is unlocked, False when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="passphrase.cancel"),
    ]

    def __init__(self, hint: str | None = None) -> None:
        super().__init__()
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="passphrase-dialog"):
            yield Static("Unlock the vault", classes="dialog-title")
            yield Static(
                "Deciding, previewing and exporting need your keys. They stay in "
                "memory until you quit, press ctrl+l, or stop typing for a while."
            )
            if self.hint:
                yield Static(self.hint, classes="hint")
            yield Input(password=True, placeholder="passphrase", id="passphrase", compact=True)
            yield Static("", id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Unlock", variant="primary", id="ok", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def unlock(self) -> None:
        field = self.query_one(Input)
        text = field.value
        if not text:
            self.query_one("#error", Static).update("Type the vault's passphrase.")
            return
        field.disabled = True
        self.query_one("#ok", Button).disabled = True
        self.query_one("#error", Static).update("Unlocking… (the key derivation takes a moment)")
        self.call_vault(lambda: self.vault.unlock(text), self._unlocked, name="unlock")

    def _unlocked(self, _keys: object) -> None:
        self.rf.note_unlocked()
        self.dismiss(True)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Said here, in the dialog, and only here: no toast that would stay
        # over the next screen once the owner has typed the right one.
        if event.state is WorkerState.ERROR:
            event.prevent_default()
            if event.worker.error is not None:
                self.rf.show_error(event.worker.error, toast=False)
            error = event.worker.error
            message = getattr(error, "message", None) or str(error)
            self.query_one("#error", Static).update(
                f"{message[:1].upper()}{message[1:]}. Try again."
            )
            field = self.query_one(Input)
            field.disabled = False
            field.value = ""
            field.focus()
            self.query_one("#ok", Button).disabled = False

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
