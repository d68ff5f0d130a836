"""The owner's terminal app: decide on requests for footage, preview, export.

The app is a thin shell over :class:`vault.service.Vault`, which it receives
in its constructor: every operation is a service call made in a thread
worker (see :mod:`tui.calls`), and every failure of one is shown in one
place, :meth:`RingfenceApp.show_error`. The owner's passphrase
is asked once, the first time a key is needed, and forgotten again after
``idle_lock_seconds`` without a key press or a click.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker

from tui.calls import VaultCalls
from vault.errors import RingfenceError
from vault.service import AppVault, VaultStatus

if TYPE_CHECKING:
    from vault.viewer import PlayerProcess

log = logging.getLogger("ringfence.tui")


def tune_gc() -> None:
    """Keep Python's cyclic garbage collector from freezing the screen.

    A full collection walks every object; with thousands of rows loaded that
    took 100-400 ms on the UI thread (bench/bench_tui.py). Objects alive at
    start are frozen out of it and young collections run less often, which
    keeps the worst pause under about 70 ms. Process-wide, so the commands
    that run the app call it, not the app itself.
    """
    gc.freeze()
    gc.set_threshold(50_000, 50, 1000)


def tune_threads() -> None:
    """Let the UI thread have the interpreter back quickly while workers compute.

    The preview's decoder and the strip's loader run Python in worker
    threads; each time the UI thread waits on the terminal it gives up the
    GIL and, at CPython's default 5 ms switch interval, waits up to that long
    to get it back, many times a frame: the strip's loading stalled the UI
    for 55-80 ms (bench/bench_player.py). 1 ms keeps those stalls near 30 ms.
    Process-wide, like :func:`tune_gc`.
    """
    sys.setswitchinterval(0.001)


PassphraseProvider = Callable[[], "str | None"]


class RingfenceApp(VaultCalls, App[None]):
    """ringfence: requests for your camera footage, and your decisions on them."""

    TITLE = "ringfence"
    CSS_PATH = "app.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
        Binding("ctrl+l", "lock", "Lock now", id="app.lock", show=False),
    ]

    status_info: reactive[VaultStatus | None] = reactive(None)
    """The latest ``vault.status.report()``; the status bar shows it."""
    key_unlocked: reactive[bool] = reactive(False)
    """Whether the owner's keys are in memory (mirrors ``vault.unlocked``)."""

    def __init__(
        self,
        vault: AppVault,
        *,
        export_dir: Path | None = None,
        notice: str | None = None,
        passphrase_hint: str | None = None,
        passphrase: PassphraseProvider | None = None,
        idle_lock_seconds: float | None = None,
        status_seconds: float = 3.0,
        monotonic: Callable[[], float] = time.monotonic,
        graphics: str = "halfblock",
    ) -> None:
        """*vault* is the open vault the app works on (injected, never created here).

        *export_dir* is where export folders are suggested; *notice* a line shown
        above the inbox (the demo explains itself there); *passphrase_hint* is
        shown in the passphrase dialog; *passphrase* supplies a passphrase
        without asking (``--passphrase-file`` and friends), used once at start;
        *graphics* is how pictures are drawn (``tui.graphics.detect()``, asked
        before the app starts; half-blocks by default).
        """
        super().__init__()
        self.vault = vault
        self.export_dir = export_dir or Path.home() / "ringfence-exports"
        self.notice = notice
        self.passphrase_hint = passphrase_hint
        self._passphrase = passphrase
        self.idle_lock_seconds = float(
            idle_lock_seconds if idle_lock_seconds is not None else vault.config.idle_lock_seconds
        )
        self.status_seconds = status_seconds
        self._monotonic = monotonic
        self._last_activity = monotonic()
        self._key_users = 0
        self._key_users_lock = threading.Lock()
        self.graphics = graphics
        self.players: set[PlayerProcess] = set()  # players fed from a preview, still running
        self.errors: list[str] = []  # every message shown by show_error, for tests and logs
        self._warned_daemon = False
        self._last_error_at = 0.0
        self._status_timer: Timer | None = None
        self._status_worker: Worker[None] | None = None
        self._status_pause = status_seconds

    # --- start and stop ---------------------------------------------------------------

    def get_default_screen(self) -> Screen[Any]:
        from tui.screens.inbox import InboxScreen

        return InboxScreen()

    def on_mount(self) -> None:
        self.key_unlocked = self.vault.unlocked
        self.apply_keymap(self.vault.config.keys)
        self.refresh_status()
        self.set_interval(1.0, self.check_idle_lock)
        if self._passphrase is not None:
            provider = self._passphrase
            self._passphrase = None  # once per session
            self.call_vault(
                lambda: self._unlock_with(provider), self._unlocked_at_start, name="unlock at start"
            )

    def _unlock_with(self, provider: PassphraseProvider) -> bool:
        text = provider()
        if not text:
            return False
        self.vault.unlock(text)
        return True

    def _unlocked_at_start(self, ok: bool) -> None:
        if ok:
            self.note_unlocked()

    def on_unmount(self) -> None:
        self.stop_players()

    def stop_players(self) -> None:
        """End every player a preview started: each holds a clip's plaintext."""
        for player in list(self.players):
            player.stop()
        self.players.clear()

    def apply_keymap(self, keys: dict[str, str]) -> None:
        """Remap keys from config.toml ``[tui] keys`` (binding id -> key)."""
        from tui.keymap import known_binding_ids

        known = known_binding_ids()
        unknown = sorted(set(keys) - known)
        if unknown:
            self.notify(
                f"config.toml [tui] keys: unknown binding id {', '.join(unknown)}",
                severity="warning",
                timeout=60,  # a mistake in the owner's config: long enough to read and fix
            )
        self.set_keymap({k: v for k, v in keys.items() if k in known})

    # --- errors: the one place they are shown -------------------------------------------------

    def show_error(self, error: BaseException, *, toast: bool = True) -> None:
        """Record and show *error*; without *toast*, the dialog that failed says it itself."""
        if isinstance(error, RingfenceError):
            message = error.message
        else:
            log.error("unexpected error in the terminal app", exc_info=error)
            message = f"unexpected error ({type(error).__name__}): {error}"
        now = time.monotonic()
        if self.errors and self.errors[-1] == message and now - self._last_error_at < 2:
            return  # two calls failing for one reason: say it once
        self._last_error_at = now
        self.errors.append(message)
        if toast:
            self.notify(message, title="Could not finish", severity="error", timeout=10)

    # --- status -----------------------------------------------------------------------

    def refresh_status(self) -> None:
        """Read ``vault.status.report()`` now, then again every ``status_seconds``.

        A status that is slow to read (it sizes the store) is read less often:
        the pause is at least ten times what the last read took.
        """
        if self._status_timer is not None:
            self._status_timer.stop()
        if self.status_seconds > 0:
            self._status_timer = self.set_timer(self._status_pause, self.refresh_status)
        if self._status_worker is not None and self._status_worker.is_running:
            return  # still reading the last one
        started = self._monotonic()
        self._status_worker = self.call_vault(
            self.vault.status.report,
            lambda status: self._status_loaded(status, started),
            name="status",
            exclusive=False,
        )

    def _status_loaded(self, status: VaultStatus, started: float) -> None:
        took = self._monotonic() - started
        self._status_pause = max(self.status_seconds, 10 * took)
        self.status_info = status
        if not status.daemon.running and not self._warned_daemon:
            self._warned_daemon = True
            self.notify(
                "The daemon is not running: new clips are not being sealed. "
                "Start it with `ringfence daemon`.",
                title="Daemon down",
                severity="warning",
                timeout=6,
            )

    # --- the owner's keys ----------------------------------------------------------------

    def with_key(self, action: Callable[[], object]) -> None:
        """Run *action* once the owner's keys are unlocked, asking if needed."""
        if self.vault.unlocked:
            action()
            return
        from tui.screens.passphrase import PassphraseScreen

        def unlocked(ok: bool | None) -> None:
            if ok:
                action()

        self.push_screen(PassphraseScreen(hint=self.passphrase_hint), unlocked)

    def note_unlocked(self) -> None:
        self.key_unlocked = self.vault.unlocked
        self._last_activity = self._monotonic()

    def key_job(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        """Wrap a vault call that uses the owner's keys: no idle lock while it runs."""

        def run() -> Any:
            with self._key_users_lock:
                self._key_users += 1
            try:
                return fn()
            finally:
                with self._key_users_lock:
                    self._key_users -= 1
                self._last_activity = self._monotonic()

        return run

    def action_lock(self) -> None:
        self.lock_now("Locked: the owner's keys are no longer in memory.")

    def lock_now(self, message: str) -> None:
        if self._key_users:
            return
        was = self.vault.unlocked
        self.vault.lock()
        self.key_unlocked = False
        self._close_previews()
        if was:
            self.notify(message, title="Vault locked")

    def _close_previews(self) -> None:
        """Locking also closes open previews: their plaintext and decoded frames
        go with the keys, and players fed from them are stopped."""
        from tui.screens.preview import PreviewScreen

        while len(self.screen_stack) > 1 and any(
            isinstance(screen, PreviewScreen) for screen in self.screen_stack
        ):
            self.pop_screen()
        self.stop_players()

    def check_idle_lock(self) -> None:
        if not self.vault.unlocked:
            self.key_unlocked = False
            return
        idle = self._monotonic() - self._last_activity
        if idle >= self.idle_lock_seconds and not self._key_users:
            from tui.format import in_words

            self.lock_now(f"Locked after {in_words(self.idle_lock_seconds)} without input.")

    async def on_event(self, event: events.Event) -> None:
        if isinstance(
            event, events.Key | events.MouseDown | events.MouseScrollDown | events.MouseScrollUp
        ):
            self._last_activity = self._monotonic()
        await super().on_event(event)

    # --- help -------------------------------------------------------------------------

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
            return
        actives = _unique(self.screen.active_bindings.values())
        # This screen's keys (its own and its widgets' named ones) first, then the
        # app's, then the widgets' navigation keys (no id).
        actives.sort(key=lambda a: 2 if a.binding.id is None else 1 if a.node is self else 0)
        rows = [
            (
                self.get_key_display(active.binding),
                active.binding.description,
                active.binding.id or "",
            )
            for active in actives
            if active.binding.description
        ]
        self.push_screen(HelpScreen(rows, title=self.screen.title or self.title))


def _unique(items: Iterable[Any]) -> list[Any]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = item.binding.id or item.binding.action
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out
