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

from textual.widgets import Input

from demo.sample import PASSPHRASE
from tests.tui.conftest import DemoCopy
from tests.tui.helpers import STATUS_DOWN, make_app, settle, wait_for
from tui.screens.approve import ApproveScreen
from tui.screens.export import ExportScreen
from tui.screens.passphrase import PassphraseScreen
from tui.screens.preview import PreviewScreen
from tui.screens.refuse import RefuseScreen
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
    await wait_for(
        pilot,
        lambda: (
            isinstance(app.screen, RequestScreen) and app.screen.query_one(ClipTable).row_count > 0
        ),
    )
    await settle(pilot)


def test_inbox(snap_compare: Any, demo: DemoCopy) -> None:
    assert snap_compare(make_app(demo.vault), terminal_size=SIZE, run_before=settle)


def test_inbox_with_demo_notice(snap_compare: Any, demo: DemoCopy) -> None:
    app = make_app(
        demo.vault,
        notice="DEMO vault in /tmp/demo. Passphrase: demo. A synthetic "
        "camera records a clip every 8 s; the daemon seals it.",
    )
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_empty_inbox(snap_compare: Any, empty_vault: Vault) -> None:
    assert snap_compare(make_app(empty_vault), terminal_size=SIZE, run_before=settle)


def test_daemon_down(snap_compare: Any, demo: DemoCopy) -> None:
    assert snap_compare(
        make_app(demo.vault, status=STATUS_DOWN), terminal_size=SIZE, run_before=settle
    )


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
        # Type only once the dialog's reason field has the focus, and take the
        # picture once the passphrase dialog's own field has it.
        await wait_for(
            pilot,
            lambda: (
                isinstance(pilot.app.screen, RefuseScreen) and isinstance(pilot.app.focused, Input)
            ),
        )
        await pilot.press(*"spam")
        await wait_for(pilot, lambda: getattr(pilot.app.focused, "value", "") == "spam")
        await pilot.press("ctrl+s")
        await wait_for(
            pilot,
            lambda: (
                isinstance(pilot.app.screen, PassphraseScreen)
                and isinstance(pilot.app.focused, Input)
            ),
        )
        await settle(pilot)

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
    demo.vault.requests.decide(
        police,
        approve=True,
        reason="warrant checked",
        clips=[c.id for c in demo.vault.requests.scope_clips(police)][2:],
    )

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


def _preview(snap_compare: Any, demo: DemoCopy, size: tuple[int, int]) -> bool:
    """The first clip of the police request, decoded in full, its first frame shown
    in half-blocks (paused: a playing clip would differ from run to run)."""
    from tui.screens.preview import Opened

    clip = demo.vault.requests.scope_clips(demo.ids["police"])[0]
    demo.vault.unlock(PASSPHRASE)
    opened = Opened(clip, demo.vault.releases.view(clip.id, "snapshot"))

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        screen = PreviewScreen(opened, "snapshot", autoplay=False)
        pilot.app.push_screen(screen)
        await wait_for(pilot, lambda: screen._decoded and screen.frames_drawn > 0)
        await settle(pilot)

    return bool(snap_compare(make_app(demo.vault), terminal_size=size, run_before=run_before))


def test_preview(snap_compare: Any, demo: DemoCopy) -> None:
    assert _preview(snap_compare, demo, SIZE)


def test_preview_100x30(snap_compare: Any, demo: DemoCopy) -> None:
    assert _preview(snap_compare, demo, (100, 30))


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


def test_request_with_strip_100x30(snap_compare: Any, demo: DemoCopy) -> None:
    """The police request with its strip of frames, every clip's frames in."""
    from tui.widgets.strip import FrameStrip

    async def run_before(pilot: Any) -> None:
        await _open(pilot, demo.ids["police"])
        await pilot.press("f")
        await wait_for(pilot, lambda: bool(pilot.app.screen.query("#answer")))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PassphraseScreen))
        await pilot.press(*PASSPHRASE, "enter")
        await wait_for(
            pilot,
            lambda: (
                isinstance(pilot.app.screen, RequestScreen)
                and pilot.app.screen.strip_loader is not None
            ),
        )
        screen = pilot.app.screen
        strip = screen.query_one(FrameStrip)
        await wait_for(pilot, lambda: all(strip.has_frames(c.id) for c in screen.clips))
        await settle(pilot)

    assert snap_compare(make_app(demo.vault), terminal_size=(100, 30), run_before=run_before)
