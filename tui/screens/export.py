"""Exporting the approved clips: a folder, a format, progress, and the receipt at the end."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import ClassVar

from rich.console import Group
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, ProgressBar, RadioButton, RadioSet, Static
from textual.worker import Worker, WorkerState

from tui.format import human_size, outcome_label
from tui.screens.base import VaultModal
from tui.widgets.choice import ChoiceButton
from vault import receipts
from vault.service import ExportResult, RequestInfo


class ExportProgress(Message, bubble=False):
    def __init__(self, done: int, total: int, clip_id: str) -> None:
        super().__init__()
        self.done = done
        self.total = total
        self.clip_id = clip_id


def result_text(result: ExportResult) -> Group:
    """The end of an export: what was written where, and how to check it.

    Each path is on a line of its own and the prose wraps between words, so
    a path is only ever folded when it alone is wider than the terminal; the
    verify command is split after its last word with a shell continuation.
    """
    receipt = result.receipt
    out = result.out
    clips = result.clips
    size = sum(int(c["delivered"]["size"]) for c in clips if c.get("delivered"))

    def path(p: Path | str, style: str = "") -> Text:
        return Text(f"  {p}", style=style, overflow="fold")

    return Group(
        Text(f"✔ Exported {len(clips)} clip(s), {human_size(size)}, to", style="bold green"),
        path(out),
        Text(
            f"Receipt {receipt['receipt_id']}: "
            f"{outcome_label(receipt['decision']['outcome'])} for "
            f"{receipt['request']['requester']} ({receipt['request']['organisation']}), "
            "signed by the owner's key"
        ),
        path(out / receipts.RECEIPT_JSON),
        path(out / receipts.RECEIPT_TXT),
        Text("Anyone can check it offline with", style="dim"),
        Text("  ringfence receipt verify \\", style="bold"),
        path(shlex.quote(str(out)), style="bold"),
    )


class ExportScreen(VaultModal[None]):
    """Exports a request's approved clips in a worker, with a progress bar."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="export.close"),
    ]

    def __init__(self, request: RequestInfo, out: Path) -> None:
        super().__init__()
        self.request = request
        self.out = out
        self.running = False
        self.result: ExportResult | None = None

    def compose(self) -> ComposeResult:
        r = self.request
        with Vertical(classes="dialog", id="export-dialog"):
            yield Static(f"Export for {r.requester}, {r.organisation}", classes="dialog-title")
            with Vertical(id="form"):
                yield Static(
                    "Writes exactly the approved clips, the signed receipt and the "
                    "audit proof into a new folder."
                )
                yield Label("Folder")
                yield Input(str(self.out), id="out", compact=True)
                yield Label("Format")
                with RadioSet(id="format"):
                    yield ChoiceButton("MP4 files as recorded", value=True, id="plain")
                    yield ChoiceButton(
                        "age-encrypted to the requester's key"
                        if r.recipient
                        else "age-encrypted (the request names no age key)",
                        id="age",
                        disabled=not r.recipient,
                    )
            yield ProgressBar(id="progress", show_eta=False)
            yield Static("", id="state")
            with Horizontal(classes="buttons"):
                yield Button("Export", variant="primary", id="ok", compact=True)
                yield Button("Close", id="close", compact=True)

    def on_mount(self) -> None:
        self.query_one("#progress").display = False
        self.query_one("#out", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def start(self) -> None:
        if self.running or self.result is not None:
            return
        text = self.query_one("#out", Input).value.strip()
        if not text:
            self.query_one("#state", Static).update("Choose a folder.")
            return
        out = Path(text).expanduser()
        fmt = "age" if self.query_one("#age", RadioButton).value else "plain"
        request_id = self.request.id

        def progress(done: int, total: int, clip_id: str) -> None:
            self.post_message(ExportProgress(done, total, clip_id))

        def run() -> ExportResult:
            return self.vault.releases.export(request_id, out, fmt=fmt, progress=progress)

        def go() -> None:
            self.running = True
            self.query_one("#form").disabled = True
            self.query_one("#ok", Button).disabled = True
            self.query_one("#close", Button).disabled = True
            self.query_one("#progress").display = True
            self.query_one("#state", Static).update("Decrypting and writing…")
            self.call_vault(self.rf.key_job(run), self._done, name="export")

        self.rf.with_key(go)

    def on_export_progress(self, message: ExportProgress) -> None:
        bar = self.query_one(ProgressBar)
        bar.update(total=max(message.total, 1), progress=message.done)
        self.query_one("#state", Static).update(
            f"{human_size(message.done)} of {human_size(message.total)} written"
        )

    def _done(self, result: ExportResult) -> None:
        self.running = False
        self.result = result
        bar = self.query_one(ProgressBar)
        bar.update(total=bar.total or 1, progress=bar.total or 1)
        self.query_one("#form").display = False
        self.query_one("#export-dialog").add_class("done")  # as wide as the terminal allows
        self.query_one("#state", Static).update(result_text(result))
        self.query_one("#ok").display = False
        close = self.query_one("#close", Button)
        close.disabled = False
        close.focus()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.name == "export":
            self.running = False
            self.query_one("#form").disabled = False
            self.query_one("#ok", Button).disabled = False
            self.query_one("#close", Button).disabled = False
            self.query_one("#progress").display = False
            event.prevent_default()  # said in the dialog, not again in a toast over its buttons
            if event.worker.error is not None:
                self.rf.show_error(event.worker.error, toast=False)
            message = getattr(event.worker.error, "message", str(event.worker.error))
            if "request reopen" in message:
                message += (
                    " In this app: close this dialog and press o on the request to decide again."
                )
            self.query_one("#state", Static).update(
                Text(f"Export failed: {message}", style="bold red")
            )
            self.query_one("#out", Input).focus()  # the folder is what to change

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        if not self.running:
            self.dismiss(None)
