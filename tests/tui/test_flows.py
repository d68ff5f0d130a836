"""Every flow of the terminal app, driven with Pilot on a real vault."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text
from textual.widgets import Input, ProgressBar, Static

from demo.sample import PASSPHRASE
from tests.tui.conftest import DemoCopy
from tests.tui.helpers import STATUS_DOWN, STATUS_UP, make_app, settle, wait_for
from tui.screens.approve import ApproveScreen
from tui.screens.export import ExportProgress, ExportScreen
from tui.screens.help import HelpScreen
from tui.screens.inbox import InboxScreen
from tui.screens.passphrase import PassphraseScreen
from tui.screens.preview import PreviewScreen
from tui.screens.refuse import RefuseScreen
from tui.screens.request import RequestScreen
from tui.widgets.status_bar import StatusBar
from tui.widgets.tables import ClipTable, RequestTable
from vault import receipts
from vault.service import Vault


async def type_text(pilot: Any, text: str) -> None:
    await pilot.press(*["space" if ch == " " else ch for ch in text])


def text_of(app: Any, selector: str) -> str:
    """The plain text a Static shows (Rich tables included)."""
    content = app.screen.query_one(selector, Static).content
    if isinstance(content, str | Text):
        return str(content)
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(content)
    return console.export_text()


async def open_request(pilot: Any, request_id: str, clips: int) -> RequestScreen:
    app = pilot.app
    await settle(pilot)
    table = app.screen.query_one(RequestTable)
    table.move_cursor(row=table.get_row_index(request_id))
    await pilot.press("enter")
    await wait_for(
        pilot,
        lambda: (
            isinstance(app.screen, RequestScreen)
            and app.screen.query_one(ClipTable).row_count == clips
        ),
        what="the request",
    )
    await settle(pilot)
    return app.screen  # type: ignore[no-any-return]


async def unlock(pilot: Any, passphrase: str = PASSPHRASE) -> None:
    await wait_for(
        pilot, lambda: isinstance(pilot.app.screen, PassphraseScreen), what="the passphrase dialog"
    )
    await type_text(pilot, passphrase)
    await pilot.press("enter")


# --- the inbox ------------------------------------------------------------------------------


async def test_inbox_lists_pending_first_with_marks_and_counts(demo: DemoCopy) -> None:
    app = make_app(demo.vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RequestTable)
        order = [
            str(table.coordinate_to_cell_key((row, 0)).row_key.value)
            for row in range(table.row_count)
        ]
        assert order == [demo.ids[k] for k in ("neighbour", "insurer", "police", "press")]
        assert str(table.get_row(demo.ids["neighbour"])[0]) == "EMERGENCY"
        assert str(table.get_row(demo.ids["insurer"])[0]) == "DUE SOON"
        counts = text_of(app, "#counts")
        assert "3 pending" in counts and "1 emergency claim" in counts
        assert "2 due within 48 h" in counts


async def test_empty_inbox_says_what_to_do(empty_vault: Vault) -> None:
    app = make_app(empty_vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.query_one("#empty").display
        assert not app.screen.query_one(RequestTable).display
        assert "No requests yet" in text_of(app, "#empty")
        assert "Nothing waiting" in text_of(app, "#counts")


async def test_daemon_down_is_shown_and_announced(demo: DemoCopy) -> None:
    app = make_app(demo.vault, status=STATUS_DOWN)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        bar = str(app.screen.query_one(StatusBar).content)
        assert "daemon DOWN" in bar and "3 waiting" in bar and "locked" in bar
        await wait_for(
            pilot,
            lambda: any(n.title == "Daemon down" for n in app._notifications),
            what="the daemon-down notice",
        )


async def test_daemon_up_status_bar(demo: DemoCopy) -> None:
    app = make_app(demo.vault)
    async with app.run_test(size=(100, 24), notifications=True) as pilot:
        await settle(pilot)
        bar = str(app.screen.query_one(StatusBar).content)
        assert "daemon up" in bar and "last clip 5 min ago" in bar
        assert "5.0 MiB stored" in bar and "40.0 GiB free" in bar
        assert not any(n.title == "Daemon down" for n in app._notifications)


async def test_the_live_status_is_read_off_the_ui_thread(demo: DemoCopy) -> None:
    app = make_app(demo.vault, status=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.status_info is not None, what="the status")
        assert app.status_info.daemon.running is False


async def test_inbox_loads_more_requests_as_you_scroll(empty_vault: Vault, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    empty_vault.cameras.add("front", drop)
    for i in range(230):
        empty_vault.requests.add(
            {
                "requester": f"Officer {i}",
                "organisation": "Police",
                "kind": "police",
                "basis": "warrant",
                "reason": "test",
                "cameras": ["front"],
                "from": "2026-11-20T00:00:00Z",
                "to": "2026-11-21T00:00:00Z",
            }
        )
    app = make_app(empty_vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RequestTable)
        assert table.row_count == 200
        await pilot.press("end")
        await wait_for(pilot, lambda: table.row_count == 230, what="the second page")
        assert table.exhausted


# --- deciding ---------------------------------------------------------------------------------


async def test_approve_a_subset(demo: DemoCopy, tmp_path: Path) -> None:
    police = demo.ids["police"]
    scope = [c.id for c in demo.vault.requests.scope_clips(police)]
    app = make_app(demo.vault, export_dir=tmp_path / "exports")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_request(pilot, police, 6)
        assert "Ticked 6 of 6" in text_of(app, "#selection")
        await pilot.press("space", "space")  # untick the first two; the cursor moves down
        assert "Ticked 4 of 6" in text_of(app, "#selection")
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ApproveScreen), what="approve")
        summary = text_of(app, "#summary")
        assert "4 of 6 clips" in summary and "partial approval" in summary
        assert "front-door (4)" in summary
        await type_text(pilot, "warrant checked")
        await pilot.press("ctrl+s")
        await unlock(pilot)
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), what="export")
        await settle(pilot)
        info = demo.vault.requests.get(police)
        assert info.status == "partly_approved"
        assert info.decision is not None
        assert sorted(info.decision["clips"]) == sorted(scope[2:])
        assert info.decision["reason"] == "warrant checked"
        assert info.decision["terms"]  # the default terms were kept
        assert app.vault.unlocked and app.key_unlocked
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RequestScreen), what="back")
        await settle(pilot)
        assert "4 of 6 clips in scope released" in text_of(app, "#selection")
        assert screen.check_action("approve", ()) is False
        assert screen.check_action("export", ()) is True


async def test_approve_needs_a_reason_and_a_future_expiry(demo: DemoCopy) -> None:
    app = make_app(demo.vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_request(pilot, demo.ids["insurer"], 4)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ApproveScreen), what="approve")
        await pilot.press("ctrl+s")
        assert "Give a reason" in text_of(app, "#error")
        app.screen.query_one("#reason", Input).value = "claim"
        app.screen.query_one("#expires", Input).value = "2020-01-01"
        await pilot.press("ctrl+s")
        assert "must be in the future" in text_of(app, "#error")
        app.screen.query_one("#expires", Input).value = "next week"
        await pilot.press("ctrl+s")
        assert "not an ISO 8601 time" in text_of(app, "#error")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RequestScreen), what="cancel")
    assert demo.vault.requests.get(demo.ids["insurer"]).status == "pending"


async def test_nothing_ticked_cannot_be_approved(demo: DemoCopy) -> None:
    app = make_app(demo.vault)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await open_request(pilot, demo.ids["insurer"], 4)
        await pilot.press("t")  # all -> none
        assert "Ticked 0 of 4" in text_of(app, "#selection")
        await pilot.press("a")
        await wait_for(
            pilot,
            lambda: any("No clip is ticked" in n.message for n in app._notifications),
            what="the notice",
        )
        assert isinstance(app.screen, RequestScreen)


async def refuse_with_receipt_in(pilot: Any, request_id: str, folder: Path) -> None:
    """Refuse the insurer's request (4 clips), the receipt to *folder*, and unlock."""
    app = pilot.app
    await open_request(pilot, request_id, 4)
    await pilot.press("x")
    await wait_for(pilot, lambda: isinstance(app.screen, RefuseScreen), what="refuse")
    await type_text(pilot, "no claim was filed")
    app.screen.query_one("#receipt-dir", Input).value = str(folder)
    await pilot.press("ctrl+s")
    await unlock(pilot)


async def test_refuse_with_a_receipt(demo: DemoCopy, tmp_path: Path) -> None:
    insurer = demo.ids["insurer"]
    folder = tmp_path / "refusal"
    app = make_app(demo.vault, export_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await refuse_with_receipt_in(pilot, insurer, folder)
        await wait_for(pilot, lambda: (folder / receipts.RECEIPT_JSON).exists(), what="receipt")
        await settle(pilot)
        assert isinstance(app.screen, RequestScreen)
    info = demo.vault.requests.get(insurer)
    assert info.status == "refused"
    assert info.decision is not None and info.decision["reason"] == "no claim was filed"
    report = receipts.verify_folder(folder, None)
    assert report.ok, report.checks


async def test_a_refusal_with_nowhere_to_put_its_receipt_is_not_recorded(
    demo: DemoCopy, tmp_path: Path
) -> None:
    insurer = demo.ids["insurer"]
    app = make_app(demo.vault, export_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await refuse_with_receipt_in(pilot, insurer, demo.vault.root / "refusal")
        await wait_for(pilot, lambda: bool(app.errors), what="the error")
        assert "inside the vault folder" in app.errors[-1]
    assert demo.vault.requests.get(insurer).status == "pending"
    assert not (demo.vault.root / "refusal").exists()


async def test_wrong_passphrase_keeps_the_dialog_open(demo: DemoCopy) -> None:
    app = make_app(demo.vault)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await open_request(pilot, demo.ids["neighbour"], 6)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ApproveScreen), what="approve")
        await type_text(pilot, "dog seen")
        await pilot.press("ctrl+s")
        await unlock(pilot, "not the passphrase")
        await wait_for(pilot, lambda: bool(app.errors), what="the passphrase to be checked")
        await settle(pilot)
        assert isinstance(app.screen, PassphraseScreen)
        assert "Wrong passphrase" in text_of(app, "#error")
        assert app.errors == ["wrong passphrase"]
        # Said once, in the dialog: no toast that would stay over the next screen.
        assert not any(n.title == "Could not finish" for n in app._notifications)
        assert not demo.vault.unlocked and not app.key_unlocked
        assert app.screen.query_one(Input).value == ""
        await unlock(pilot)
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), what="export")
    assert demo.vault.requests.get(demo.ids["neighbour"]).status == "approved"


async def approve_until_asked(pilot: Any, request_id: str) -> None:
    """Open the request, approve it all with reason "ok": the passphrase is asked."""
    app = pilot.app
    await open_request(pilot, request_id, 6)
    await pilot.press("a")
    await wait_for(pilot, lambda: isinstance(app.screen, ApproveScreen), what="approve")
    await type_text(pilot, "ok")
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(app.screen, PassphraseScreen), what="ask")


async def test_cancelling_the_passphrase_decides_nothing(demo: DemoCopy) -> None:
    app = make_app(demo.vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await approve_until_asked(pilot, demo.ids["police"])
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RequestScreen), what="back")
    assert demo.vault.requests.get(demo.ids["police"]).status == "pending"


async def test_export_with_progress_ends_on_a_verifiable_receipt(
    demo: DemoCopy, tmp_path: Path
) -> None:
    neighbour = demo.ids["neighbour"]
    progress: list[tuple[int, int]] = []

    def hook(message: Any) -> None:
        if isinstance(message, ExportProgress):
            progress.append((message.done, message.total))

    app = make_app(demo.vault, export_dir=tmp_path / "exports")
    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await open_request(pilot, neighbour, 6)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ApproveScreen), what="approve")
        await type_text(pilot, "find the dog")
        await pilot.press("ctrl+s")
        await unlock(pilot)
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), what="export")
        out = Path(app.screen.query_one("#out", Input).value)
        assert out == tmp_path / "exports" / neighbour
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.result is not None, what="the export")
        await settle(pilot)
        bar = app.screen.query_one(ProgressBar)
        assert bar.percentage == 1.0
        state = text_of(app, "#state")
        assert "Exported 6 clip(s)" in state
        assert f"ringfence receipt verify \\\n  {out}" in state
        assert str(out / receipts.RECEIPT_JSON) in state
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RequestScreen), what="closed")
    assert len(progress) == 6
    assert progress[-1][0] == progress[-1][1] > 0
    assert [d for d, _t in progress] == sorted(d for d, _t in progress)
    report = receipts.verify_folder(out, None)
    assert report.ok, [c for c in report.checks if not c.ok]
    assert len(list((out / "clips").rglob("*.mp4"))) == 6


async def test_export_failure_is_shown_and_the_dialog_stays(demo: DemoCopy, tmp_path: Path) -> None:
    police = demo.ids["police"]
    demo.vault.unlock(PASSPHRASE)
    demo.vault.requests.decide(police, approve=True, reason="ok")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "something").write_text("x")
    app = make_app(demo.vault, export_dir=tmp_path)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await open_request(pilot, police, 6)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), what="export")
        app.screen.query_one("#out", Input).value = str(taken)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ExportScreen)
        assert "exists and is not an empty folder" in text_of(app, "#state")
        assert any("exists and is not an empty folder" in e for e in app.errors)
        # Said in the dialog only (a toast would cover its buttons), and the folder
        # field has the focus again: it is what the owner changes next.
        assert not any(n.title == "Could not finish" for n in app._notifications)
        assert app.focused is app.screen.query_one("#out", Input)


# --- preview -------------------------------------------------------------------------------------

PLAYER = """
import hashlib, json, os, sys
data = sys.stdin.buffer.read()
record = {"sha256": hashlib.sha256(data).hexdigest(), "args": sys.argv[2:],
          "secret_vars": sorted(k for k in os.environ if "PASSPHRASE" in k)}
open(sys.argv[1], "w").write(json.dumps(record))
"""

HANG = "import sys, time; sys.stdin.buffer.read(); open(sys.argv[1], 'w').write('reading'); time.sleep(600)"


async def open_preview(pilot: Any, police: str) -> PreviewScreen:
    """From the inbox: the police request, its first clip previewed and unlocked."""
    app = pilot.app
    await open_request(pilot, police, 6)
    await pilot.press("p")
    await wait_for(pilot, lambda: app.screen.query("#answer"), what="the reason dialog")
    await pilot.press("enter")  # keep the suggested reason
    await unlock(pilot)
    await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen), what="preview")
    return app.screen  # type: ignore[no-any-return]


async def test_preview_decrypts_logs_and_pipes_to_the_player(
    demo: DemoCopy, tmp_path: Path, monkeypatch: Any
) -> None:
    police = demo.ids["police"]
    clip = demo.vault.requests.scope_clips(police)[0]
    script = tmp_path / "player.py"
    script.write_text(PLAYER)
    record = tmp_path / "played.json"
    monkeypatch.setenv("RINGFENCE_PLAYER", f"{sys.executable} {script} {record} -")
    audit_before = demo.vault.audit.size()
    app = make_app(demo.vault)
    async with app.run_test(size=(80, 24)) as pilot:
        preview = await open_preview(pilot, police)
        await wait_for(pilot, lambda: preview.frames_drawn > 0, what="the first frame")
        facts = text_of(app, "#facts")
        assert "front-door" in facts and "160×120" in facts and "mp4" in facts
        assert "Audio" in facts and "none" in facts
        await pilot.press("o")
        await wait_for(pilot, record.exists, what="the player")
        await wait_for(pilot, lambda: not app.players, what="the player to exit")
        played = json.loads(record.read_text())
        assert played["sha256"] == clip.sha256 and played["args"] == ["-"]
        assert played["secret_vars"] == []
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RequestScreen), what="back")
    viewed = [e for _i, e in demo.vault.audit.entries(audit_before) if e["type"] == "clip.viewed"]
    assert [e["subject"] for e in viewed] == [clip.id]
    assert "Metropolitan Police" in viewed[0]["details"]["reason"]
    # The owner's own view is filed as an approved request, hidden from the inbox.
    own = [r for r in demo.vault.requests.all() if r.kind == "owner"]
    assert len(own) == 1 and own[0].status == "approved"


async def test_a_player_still_running_is_stopped_when_the_vault_locks(
    demo: DemoCopy, tmp_path: Path, monkeypatch: Any
) -> None:
    police = demo.ids["police"]
    script = tmp_path / "hang.py"
    script.write_text(HANG)
    mark = tmp_path / "reading"
    monkeypatch.setenv("RINGFENCE_PLAYER", f"{sys.executable} {script} {mark}")
    app = make_app(demo.vault)
    async with app.run_test(size=(80, 24)) as pilot:
        preview = await open_preview(pilot, police)
        await pilot.press("o")
        await wait_for(pilot, mark.exists, what="the player to read the clip")
        (player,) = list(app.players)
        assert player.running
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, RequestScreen), what="closed")
        assert not player.running and not app.players and not demo.vault.unlocked
        assert preview.opened is None and preview.playhead.times == []


async def test_quitting_stops_a_running_player(
    demo: DemoCopy, tmp_path: Path, monkeypatch: Any
) -> None:
    police = demo.ids["police"]
    script = tmp_path / "hang.py"
    script.write_text(HANG)
    mark = tmp_path / "reading"
    monkeypatch.setenv("RINGFENCE_PLAYER", f"{sys.executable} {script} {mark}")
    app = make_app(demo.vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_preview(pilot, police)
        await pilot.press("o")
        await wait_for(pilot, mark.exists, what="the player to read the clip")
        (player,) = list(app.players)
    assert not player.running


async def test_preview_without_a_picture_says_why(demo: DemoCopy) -> None:
    from tui.screens.preview import Opened

    clip = demo.vault.clips.all(limit=1)[0]
    app = make_app(demo.vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(PreviewScreen(Opened(clip, b"not a clip")))
        await settle(pilot)
        assert "No picture" in text_of(app, "#facts")
        assert "(no picture)" in str(app.screen.query_one("#video").render_line(10).text)


async def test_clips_browser_by_camera_and_day(demo: DemoCopy) -> None:
    app = make_app(demo.vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: app.screen.query("#cameras"), what="clips")
        await settle(pilot)
        table = app.screen.query_one(ClipTable)
        # driveway's latest day is today (the neighbour's window): 3 clips.
        assert "driveway: Sat 2026-11-28, 3 clip(s)" in text_of(app, "#day")
        assert table.row_count == 3
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert "Fri 2026-11-27, 6 clip(s)" in text_of(app, "#day")
        await pilot.press("right_square_bracket", "right_square_bracket")
        await settle(pilot)
        assert "Sun 2026-11-29, 0 clip(s)" in text_of(app, "#day")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen), what="back")


async def test_audit_view_verifies_the_log(demo: DemoCopy) -> None:
    app = make_app(demo.vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await wait_for(pilot, lambda: app.screen.query("#entries"), what="audit")
        await settle(pilot)
        assert "✔ Verified" in text_of(app, "#verify")
        table = app.screen.query_one("#entries")
        assert table.row_count == demo.vault.audit.size()
        newest = table.get_row_at(0)
        assert newest[0] == str(demo.vault.audit.size() - 1)


# --- keys, help, idle lock, mouse ------------------------------------------------------------------


async def test_help_lists_the_keys_of_the_screen(demo: DemoCopy) -> None:
    app = make_app(demo.vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_request(pilot, demo.ids["police"], 6)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        ids = [row[2] for row in app.screen.keys]
        assert ids[:3] == ["request.back", "request.toggle", "request.toggle_all"]
        assert "request.approve" in ids and "app.quit" in ids
        named = [i for i in ids if i]
        # The screen's own keys first, then the app's; navigation keys (no id) last.
        assert named == sorted(named, key=lambda i: i.startswith("app."))
        assert ids.index("app.quit") > max(i for i, k in enumerate(ids) if k.startswith("request."))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RequestScreen), what="closed")


async def test_keys_are_remapped_from_the_config(demo: DemoCopy) -> None:
    demo.vault.config.keys = {"request.approve": "y", "not.a.binding": "z"}
    app = make_app(demo.vault)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(
            pilot,
            lambda: any("not.a.binding" in n.message for n in app._notifications),
            what="the warning",
        )
        await open_request(pilot, demo.ids["police"], 6)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, RequestScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ApproveScreen), what="approve")


async def test_idle_lock_forgets_the_keys(demo: DemoCopy) -> None:
    now = [1000.0]
    app = make_app(demo.vault, idle_lock_seconds=60, monotonic=lambda: now[0])
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        demo.vault.unlock(PASSPHRASE)
        app.note_unlocked()
        now[0] += 59
        app.check_idle_lock()
        assert demo.vault.unlocked
        await pilot.press("down")  # activity resets the idle time
        now[0] += 59
        app.check_idle_lock()
        assert demo.vault.unlocked
        app._key_users = 1  # an export is running: never lock under it
        now[0] += 120
        app.check_idle_lock()
        assert demo.vault.unlocked
        app._key_users = 0
        app.check_idle_lock()
        assert not demo.vault.unlocked and not app.key_unlocked
        await wait_for(
            pilot,
            lambda: any(
                "Locked after 1 minute without input" in n.message for n in app._notifications
            ),
            what="the lock notice",
        )


async def test_passphrase_from_a_configured_source_unlocks_at_start(demo: DemoCopy) -> None:
    app = make_app(demo.vault, passphrase=lambda: PASSPHRASE)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.key_unlocked, what="unlock")
        assert demo.vault.unlocked


async def test_the_mouse_opens_a_request_and_cancels_a_dialog(demo: DemoCopy) -> None:
    app = make_app(demo.vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RequestTable)
        row = table.get_row_index(demo.ids["police"])
        await pilot.click(RequestTable, offset=(20, row + 1))
        await pilot.click(RequestTable, offset=(20, row + 1))
        await wait_for(pilot, lambda: isinstance(app.screen, RequestScreen), what="request")
        await settle(pilot)
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, RefuseScreen), what="refuse")
        await pilot.click("#cancel")
        await wait_for(pilot, lambda: isinstance(app.screen, RequestScreen), what="cancelled")
    assert demo.vault.requests.get(demo.ids["police"]).status == "pending"


async def test_service_errors_are_shown_with_their_message(demo: DemoCopy) -> None:
    app = make_app(demo.vault)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        app.push_screen(RequestScreen("req_doesnotexist0000"))
        await settle(pilot)
        assert app.errors == ["no request 'req_doesnotexist0000'"]
        await wait_for(
            pilot,
            lambda: any(n.title == "Could not finish" for n in app._notifications),
            what="the error",
        )


async def test_export_age_encrypted_to_the_requesters_key(demo: DemoCopy, tmp_path: Path) -> None:
    from textual.widgets import RadioButton

    from vault import age

    police = demo.ids["police"]
    demo.vault.unlock(PASSPHRASE)
    demo.vault.requests.decide(police, approve=True, reason="warrant")
    app = make_app(demo.vault, export_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_request(pilot, police, 6)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), what="export")
        await pilot.click("#age")
        assert app.screen.query_one("#age", RadioButton).value
        await pilot.click("#ok")
        await wait_for(pilot, lambda: app.screen.result is not None, what="the export")
    out = tmp_path / police
    files = sorted((out / "clips").rglob("*.age"))
    assert len(files) == 6
    key_line = [
        ln
        for ln in demo.demo.police_key.read_text().splitlines()
        if ln.startswith("AGE-SECRET-KEY-")
    ][0]
    plain = age.decrypt_bytes(files[0].read_bytes(), [age.parse_identity(key_line)])
    assert plain[4:8] == b"ftyp"
    assert receipts.verify_folder(out, None).ok


async def test_status_is_polled_and_slow_reads_are_spaced_out(demo: DemoCopy) -> None:
    calls: list[float] = []
    clock = [0.0]

    def slow_status() -> dict[str, Any]:
        calls.append(clock[0])
        clock[0] += 1.0  # each read "takes" one second of the app's clock
        return STATUS_UP

    app = make_app(demo.vault, status=None, status_seconds=0.05, monotonic=lambda: clock[0])
    demo.vault.status.report = slow_status  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.status_info is not None, what="the status")
        assert app._status_pause == 10.0  # ten times the last read
        # The first pause was 0.05 s, so a second read comes; the next pause is
        # 10 s, so no third one follows soon after.
        await wait_for(pilot, lambda: len(calls) >= 2, what="the second read")
        await pilot.pause(0.3)
        assert len(calls) == 2


async def test_dialogs_sit_in_the_middle_over_a_dimmed_screen(demo: DemoCopy) -> None:
    app = make_app(demo.vault)
    async with app.run_test(size=(100, 30)) as pilot:
        await approve_until_asked(pilot, demo.ids["police"])
        await settle(pilot)
        box = app.screen.query_one("#passphrase-dialog").region
        left, right = box.x, 100 - box.right
        top, bottom = box.y, 30 - box.bottom
        assert box.width < 100 and abs(left - right) <= 1, (left, right)
        assert box.height < 30 and abs(top - bottom) <= 1, (top, bottom)
        # The stock modal style applies: the screen behind is seen through a tint.
        assert app.screen.styles.background.a < 1


async def test_a_truncated_clip_is_shown_as_such(demo: DemoCopy) -> None:
    """A clip the media check found cut short is marked in the day's list and the preview."""
    import dataclasses
    import sqlite3

    from tui.screens.preview import Opened

    clip = demo.vault.clips.all(camera="driveway")[-1]
    db = sqlite3.connect(demo.vault.layout.catalog)
    db.execute("UPDATE clip SET truncated = 1 WHERE id = ?", (clip.id,))
    db.commit()
    db.close()
    app = make_app(demo.vault)
    async with app.run_test(size=(120, 24)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: app.screen.query("#cameras"), what="clips")
        await settle(pilot)
        table = app.screen.query_one(ClipTable)
        names = [str(table.get_row_at(i)[-1]) for i in range(table.row_count)]
        assert sum("[truncated]" in n for n in names) == 1
        app.push_screen(
            PreviewScreen(Opened(dataclasses.replace(clip, truncated=True), b"not a clip"))
        )
        await settle(pilot)
        assert "Truncated" in text_of(app, "#facts")
