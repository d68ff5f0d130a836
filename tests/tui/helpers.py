"""Helpers for the terminal app's tests: the app on a vault, waiting for workers."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from textual.widgets import Input

from demo import synth
from demo.sample import PASSPHRASE
from tui.app import RingfenceApp
from vault.ingest.daemon import Daemon, DaemonOptions
from vault.service import Vault, VaultStatus
from vault.service.results import DaemonState

NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
EXPORTS = Path("/tmp/ringfence-test-exports")  # shown in dialogs; tests that export pass their own

STATUS_UP = VaultStatus(
    vault=Path("/vault"),
    daemon=DaemonState(
        running=True, pid=4242, started_at="2026-11-28T11:00:00Z", last_beat="2026-11-28T11:59:30Z"
    ),
    receivers={},
    cameras=(),
    folders=(),
    clips=24,
    truncated=0,
    last_ingest=datetime(2026, 11, 28, 11, 55, 0, tzinfo=UTC),
    files_waiting=0,
    held_back=(),
    unknown_payloads=(),
    store_bytes=5 << 20,
    free_bytes=40 << 30,
    low_disk=False,
    audit_size=40,
)
STATUS_DOWN = replace(
    STATUS_UP,
    daemon=DaemonState(running=False, pid=None, started_at=None, last_beat=None),
    files_waiting=3,
)


def fixed_clock() -> datetime:
    return NOW


def make_app(
    vault: Vault,
    *,
    status: VaultStatus | None = STATUS_UP,
    export_dir: Path = EXPORTS,
    **kwargs: Any,
) -> RingfenceApp:
    """The app on *vault*; *status* replaces the live (machine-dependent) status."""
    if status is not None:
        vault.status.report = lambda: status  # type: ignore[method-assign]
    kwargs.setdefault("status_seconds", 0)
    return RingfenceApp(vault, export_dir=export_dir, **kwargs)


async def wait_for(
    pilot: Any, predicate: Callable[[], bool], timeout: float = 60.0, what: str = "condition"
) -> None:
    """Let the app run (workers included) until *predicate* holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def settle(pilot: Any) -> None:
    """Wait for every worker, then for the messages they posted; the text
    fields' cursors stop blinking (shown steadily), so a picture taken now does
    not depend on how long the machine took to get here."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


FIRST = NOW - timedelta(hours=2)


def build_vault(
    root: Path, clips: int = 3, seconds: float = 4.0, size: tuple[int, int] = (160, 96)
) -> tuple[Vault, str, list[bytes]]:
    """A vault with *clips* clips of camera `porch`, a minute apart, and a request for them."""
    vault = Vault.init(root / "vault", PASSPHRASE, log_n=10, clock=fixed_clock)
    drop = root / "drop"
    drop.mkdir()
    vault.cameras.add("porch", drop, pattern="porch_%Y%m%d_%H%M%S")
    plaintexts = []
    for i in range(clips):
        at = FIRST + timedelta(minutes=i)
        data = synth.clip_bytes(
            seconds=seconds,
            width=size[0],
            height=size[1],
            fps=10,
            codec="h264",
            label=f"CLIP {i + 1}",
            seed=i,
        )
        plaintexts.append(data)
        (drop / f"porch_{at.astimezone():%Y%m%d_%H%M%S}.mp4").write_bytes(data)
    Daemon(vault, DaemonOptions(once=True, settle_seconds=0)).run()
    request = vault.requests.add(
        {
            "requester": "DC Sam Patel",
            "organisation": "Metropolitan Police",
            "kind": "police",
            "basis": "warrant",
            "reason": "who rang the bell",
            "cameras": ["porch"],
            "from": FIRST - timedelta(minutes=1),
            "to": FIRST + timedelta(minutes=clips + 1),
        }
    )
    vault.lock()
    return vault, request, plaintexts
