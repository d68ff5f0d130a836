"""The terminal app's rough edges found at 80x24 and 100x30: widths, words, toasts, choices."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from textual.widgets import DataTable, RadioButton
from textual.widgets._toast import ToastRack

from demo.sample import PASSPHRASE
from tests.tui.conftest import DemoCopy
from tests.tui.helpers import make_app, settle, wait_for
from tests.tui.test_flows import open_request
from tui.format import in_words
from tui.screens.ask import AskScreen
from tui.screens.clips import ClipsScreen
from tui.screens.export import ExportScreen, result_text
from tui.widgets.tables import ClipTable, RequestTable
from vault.service import ExportResult


def test_spans_are_said_in_words() -> None:
    assert in_words(300) == "5 minutes"
    assert in_words(60) == "1 minute"
    assert in_words(8) == "8 seconds"
    assert in_words(8.0001) == "8 seconds"  # never "0.133335 min"
    assert in_words(90) == "1 minute 30 seconds"
    assert in_words(3600) == "1 hour"
    assert in_words(1) == "1 second" and in_words(0) == "0 seconds"


def _column_widths(table: DataTable) -> dict[str, int]:  # type: ignore[type-arg]
    return {str(k.value): c.get_render_width(table) for k, c in table.columns.items()}


async def test_the_inbox_from_column_uses_the_width_there_is(demo: DemoCopy) -> None:
    for width in (80, 100, 140):
        app = make_app(demo.vault)
        async with app.run_test(size=(width, 30)) as pilot:
            await settle(pilot)
            table = app.screen.query_one(RequestTable)
            await wait_for(pilot, lambda t=table: t.row_count > 0, what="rows")
            widths = _column_widths(table)
            room = table.scrollable_content_region.width
            assert sum(widths.values()) == room, (width, widths, room)
            if width >= 100:  # room for the longest "organisation · requester" in full
                longest = max(len(str(table.get_cell(r, "from"))) for r in table.rows)
                assert (
                    table.columns[next(k for k in table.columns if k.value == "from")].width
                    >= longest
                )


async def test_the_clips_columns_use_the_width_there_is(demo: DemoCopy) -> None:
    app = make_app(demo.vault)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.push_screen(ClipsScreen())
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, ClipsScreen)
                and any(t.row_count for t in app.screen.query(ClipTable))
            ),
            what="clips",
        )
        table = app.screen.query_one(ClipTable)
        widths = _column_widths(table)
        assert sum(widths.values()) == table.scrollable_content_region.width
        pictures = [str(table.get_cell(r, "picture")) for r in table.rows]
        assert all(len(p) <= widths["picture"] - 2 for p in pictures)  # not cut
        assert widths["file"] > widths["picture"]


async def test_the_export_format_is_readable_without_colour(demo: DemoCopy, tmp_path: Path) -> None:
    police = demo.ids["police"]
    demo.vault.unlock(PASSPHRASE)
    demo.vault.requests.decide(police, approve=True, reason="ok")
    app = make_app(demo.vault, export_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_request(pilot, police, 6)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), what="export")
        buttons = list(app.screen.query(RadioButton))
        drawn = [b.render().plain for b in buttons]
        chosen = [b.value for b in buttons]
        assert chosen == [True, False]
        assert "●" in drawn[0] and "●" not in drawn[1]  # not told apart by colour only


async def test_toasts_over_a_dialog_stay_clear_of_its_buttons(demo: DemoCopy) -> None:
    app = make_app(demo.vault)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        app.push_screen(AskScreen("Title", "Prompt", "value"))
        await wait_for(pilot, lambda: isinstance(app.screen, AskScreen), what="dialog")
        await wait_for(pilot, lambda: bool(app.screen.query("#ok")), what="its buttons")
        app.notify("something to say", timeout=30)
        await wait_for(
            pilot, lambda: any(r.children for r in app.screen.query(ToastRack)), what="the toast"
        )
        await settle(pilot)
        rack = app.screen.query_one(ToastRack)
        ok = app.screen.query_one("#ok")
        for toast in rack.children:
            assert not toast.region.overlaps(ok.region), (toast.region, ok.region)
        assert rack.styles.dock == "top"


def test_the_verify_command_is_never_cut_inside_a_word() -> None:
    out = Path("/home/owner/ringfence-exports/" + "a-very-long-folder-name-" * 3 + "req_x")
    receipt = {
        "clips": [],
        "receipt_id": "rcp_1",
        "decision": {"outcome": "refused"},
        "request": {"requester": "DC Smith", "organisation": "Met Police"},
    }
    console = Console(width=74, record=True, color_system=None, file=io.StringIO())
    console.print(result_text(ExportResult("exp_1", out, receipt)))
    lines = console.export_text().splitlines()
    assert "  ringfence receipt verify \\" in lines
    command = lines.index("  ringfence receipt verify \\")
    path_lines = lines[command + 1 :]
    assert "".join(line.strip() for line in path_lines) == str(out)


async def test_the_request_s_picture_column_uses_the_width_there_is(demo: DemoCopy) -> None:
    """The Picture column takes what the fixed columns leave, so a 1920×1080 hevc
    clip reads whole at 80 and 100 columns (it was 12 wide: "1280×720 h26")."""
    for width in (80, 100):
        app = make_app(demo.vault)
        async with app.run_test(size=(width, 30)) as pilot:
            await open_request(pilot, demo.ids["police"], 6)
            table = app.screen.query_one(ClipTable)
            widths = _column_widths(table)
            assert sum(widths.values()) == table.scrollable_content_region.width, widths
            assert widths["picture"] - 2 >= len("1920×1080 hevc"), (width, widths)


async def test_the_preview_reason_follows_the_decision(demo: DemoCopy) -> None:
    police = demo.ids["police"]
    app = make_app(demo.vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_request(pilot, police, 6)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, AskScreen), what="ask")
        assert app.screen.value.startswith("before deciding on the request from")
        await pilot.press("escape")
        demo.vault.unlock(PASSPHRASE)
        demo.vault.requests.decide(police, approve=True, reason="ok")
        await pilot.press("escape")
        await open_request(pilot, police, 6)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, AskScreen), what="ask")
        assert app.screen.value == "reviewing the approved request from Metropolitan Police"
