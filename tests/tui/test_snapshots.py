"""Snapshots of the main screens at 80x24 (pytest-textual-snapshot).

Update after an intended change with ``pytest tests/tui --snapshot-update`` and
look at the report before committing. The data is fixed: the demo vault with
a fixed clock, deterministic ids, UTC, and a fixed status (disk space and the
daemon's liveness would otherwise differ from run to run).
"""

from __future__ import annotations

import fcntl
import shutil
from pathlib import Path
from typing import Any

from demo.sample import PASSPHRASE
from tests.tui.conftest import DemoCopy
from tests.tui.helpers import STATUS_DOWN, make_app, settle, wait_for
from tui.screens.approve import ApproveScreen
from tui.screens.export import ExportScreen
from tui.screens.passphrase import PassphraseScreen
from tui.screens.preview import PreviewScreen
from tui.screens.request import RequestScreen
from tui.widgets.tables import ClipTable, RequestTable
from vault.service import Vault

SIZE = (80, 24)
FIXED_EXPORTS = Path("/tmp/ringfence-snapshot-exports")


async def _open(pilot: Any, request_id: str) -> None:
    app = pilot.app
    await settle(pilot)
    table = app.screen.query_one(RequestTable)
    table.move_cursor(row=table.get_row_index(request_id))
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, RequestScreen)
                   and app.screen.query_one(ClipTable).row_count > 0)
    await settle(pilot)


def test_inbox(snap_compare: Any, demo: DemoCopy) -> None:
    assert snap_compare(make_app(demo.vault), terminal_size=SIZE, run_before=settle)


def test_inbox_with_demo_notice(snap_compare: Any, demo: DemoCopy) -> None:
    app = make_app(demo.vault, notice="DEMO vault in /tmp/demo. Passphrase: demo. A synthetic "
                                      "camera records a clip every 8 s; the daemon seals it.")
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_empty_inbox(snap_compare: Any, empty_vault: Vault) -> None:
    assert snap_compare(make_app(empty_vault), terminal_size=SIZE, run_before=settle)


def test_daemon_down(snap_compare: Any, demo: DemoCopy) -> None:
    assert snap_compare(make_app(demo.vault, status=STATUS_DOWN), terminal_size=SIZE,
                        run_before=settle)


def test_request_detail(snap_compare: Any, demo: DemoCopy) -> None:
    async def run_before(pilot: Any) -> None:
        await _open(pilot, demo.ids["police"])

    assert snap_compare(make_app(demo.vault), terminal_size=SIZE, run_before=run_before)


def test_emergency_claim(snap_compare: Any, demo: DemoCopy) -> None:
    async def run_before(pilot: Any) -> None:
        await _open(pilot, demo.ids["neighbour"])

    assert snap_compare(make_app(demo.vault), terminal_size=SIZE, run_before=run_before)


def test_approve_dialog_partial(snap_compare: Any, demo: DemoCopy) -> None:
    async def run_before(pilot: Any) -> None:
        await _open(pilot, demo.ids["police"])
        await pilot.press("space", "space", "a")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ApproveScreen))

    assert snap_compare(make_app(demo.vault), terminal_size=SIZE, run_before=run_before)


def test_passphrase_dialog(snap_compare: Any, demo: DemoCopy) -> None:
    async def run_before(pilot: Any) -> None:
        await _open(pilot, demo.ids["police"])
        await pilot.press("x")
        await pilot.press(*"spam", "ctrl+s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PassphraseScreen))

    app = make_app(demo.vault, passphrase_hint="This is the demo vault: its passphrase is “demo”.")
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_export_finished(snap_compare: Any, demo: DemoCopy) -> None:
    # The folder is fixed because the snapshot shows it; a lock keeps two test
    # runs on one machine from writing into it at once.
    with open(f"{FIXED_EXPORTS}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _export_finished(snap_compare, demo)


def _export_finished(snap_compare: Any, demo: DemoCopy) -> None:
    shutil.rmtree(FIXED_EXPORTS, ignore_errors=True)
    demo.vault.unlock(PASSPHRASE)
    police = demo.ids["police"]
    demo.vault.requests.decide(police, approve=True, reason="warrant checked",
                      clips=[c.id for c in demo.vault.requests.scope_clips(police)][2:])

    async def run_before(pilot: Any) -> None:
        await _open(pilot, police)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ExportScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: pilot.app.screen.result is not None)
        await settle(pilot)

    try:
        app = make_app(demo.vault, export_dir=FIXED_EXPORTS)
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
    finally:
        shutil.rmtree(FIXED_EXPORTS, ignore_errors=True)


def test_preview(snap_compare: Any, demo: DemoCopy) -> None:
    clip = demo.vault.requests.scope_clips(demo.ids["police"])[0]
    demo.vault.unlock(PASSPHRASE)
    data = demo.vault.releases.view(clip.id, "snapshot")
    from tui.widgets.frame import still_frame

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        pilot.app.push_screen(PreviewScreen(clip, data, still_frame(data)))
        await settle(pilot)

    assert snap_compare(make_app(demo.vault), terminal_size=SIZE, run_before=run_before)


def test_clips_browser(snap_compare: Any, demo: DemoCopy) -> None:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: bool(pilot.app.screen.query("#cameras")))
        await settle(pilot)

    assert snap_compare(make_app(demo.vault), terminal_size=SIZE, run_before=run_before)


def test_help(snap_compare: Any, demo: DemoCopy) -> None:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(make_app(demo.vault), terminal_size=SIZE, run_before=run_before)
