"""An approval whose signature does not verify: the app says so and lets the owner decide again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from textual.widgets import Input

from demo.sample import PASSPHRASE
from tests.tui.conftest import DemoCopy
from tests.tui.helpers import make_app, settle, wait_for
from tests.tui.test_flows import open_request, text_of, type_text
from tui.screens.ask import AskScreen
from tui.screens.export import ExportScreen
from tui.screens.request import RequestScreen


async def test_a_tampered_approval_is_reported_and_decided_again(
    demo: DemoCopy, tmp_path: Path
) -> None:
    police = demo.ids["police"]
    vault = demo.vault
    vault.unlock(PASSPHRASE)
    scope = [c.id for c in vault.requests.scope_clips(police)]
    vault.requests.decide(police, approve=True, reason="ok", clips=scope[:1])
    db = sqlite3.connect(vault.layout.catalog)
    with db:  # widened behind the owner's back
        db.execute(
            "INSERT INTO decision_clip SELECT d.id, c.id, 'front', c.captured_at, c.size, "
            "c.sha256 FROM clip c, decision d WHERE c.id = ? AND d.request_id = ?",
            (scope[1], police),
        )
    db.close()
    app = make_app(vault, export_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_request(pilot, police, len(scope))
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), what="export")
        app.screen.query_one("#out", Input).value = str(tmp_path / "out")
        await pilot.press("enter")
        await settle(pilot)
        state = text_of(app, "#state")
        assert "owner's valid signature" in state and "press o" in state
        assert not (tmp_path / "out").exists()
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RequestScreen), what="the request")
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, AskScreen), what="the reason")
        await type_text(pilot, "not what I approved")
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: vault.requests.get(police).status == "pending",
            what="the request reopened",
        )
        await settle(pilot)
    assert vault.requests.get(police).decision is None
