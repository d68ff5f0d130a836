"""Calling the vault off the UI thread.

Every call into :mod:`vault.service` may touch SQLite, the disk or scrypt, so
it runs in a thread worker. The result comes back as a :class:`VaultResult`
message to the screen (or app) that asked, which applies it on the UI thread;
a screen that was closed meanwhile simply never receives it. Failures are not
handled here: a failed worker ends in ``WorkerState.ERROR`` and the app shows
its message in one place (``RingfenceApp.on_worker_state_changed``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from textual.dom import DOMNode
from textual.message import Message
from textual.worker import Worker, WorkerState, get_current_worker

T = TypeVar("T")

if TYPE_CHECKING:
    _Node = DOMNode
else:
    # At run time the mixin must not be a DOMNode itself: Textual takes a
    # class's CSS type names from its first DOMNode base, so a DOMNode mixin
    # listed first would hide Screen, ModalScreen and App from the stylesheet.
    _Node = object


class VaultResult(Message, bubble=False):
    """The value a vault call returned, with what to do with it."""

    def __init__(self, apply: Callable[[Any], None], value: Any) -> None:
        super().__init__()
        self.apply = apply
        self.value = value


class VaultCalls(_Node):
    """Mixin for screens and the app: ``call_vault(fn, then)``."""

    def call_vault(
        self,
        fn: Callable[[], T],
        then: Callable[[T], None] | None = None,
        *,
        name: str,
        group: str | None = None,
        exclusive: bool = True,
    ) -> Worker[None]:
        """Run *fn* in a thread; hand its result to *then* on the UI thread.

        With *exclusive*, a newer call of the same *group* (default: *name*)
        supersedes an older one still running: the older result is dropped.
        """

        def job() -> None:
            value = fn()
            if then is not None and not get_current_worker().is_cancelled:
                self.post_message(VaultResult(then, value))

        return self.run_worker(
            job,
            name=name,
            group=group or name,
            thread=True,
            exclusive=exclusive,
            exit_on_error=False,
        )

    def on_vault_result(self, message: VaultResult) -> None:
        message.stop()
        message.apply(message.value)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Worker.StateChanged does not bubble: every node that runs vault
        # calls hands its failures to the app here.
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.app.show_error(event.worker.error)  # type: ignore[attr-defined]
