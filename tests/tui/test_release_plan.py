"""The app shows the release plan before the owner signs: a cut clip's disclosed window."""

from __future__ import annotations

from pathlib import Path

from tests.tui.helpers import make_app, settle, wait_for
from tests.tui.test_flows import open_request, text_of, type_text
from tui.screens.approve import ApproveScreen
from tui.screens.release_plan import ReleasePlanScreen
from vault.service import Vault


async def test_approving_a_cut_shows_the_disclosed_window_before_signing(
    vault: Vault, tmp_path: Path
) -> None:
    from tests.transform.test_minimised_export import CAPTURED, PATTERN, make_clip
    from vault.ingest.daemon import Daemon, DaemonOptions

    drop = tmp_path / "drop"
    drop.mkdir()
    vault.cameras.add("front", drop, pattern=PATTERN)
    make_clip(drop / f"{CAPTURED.strftime(PATTERN)}.mp4")
    Daemon(vault, DaemonOptions(once=True, settle_seconds=0)).run()
    rid = vault.requests.add(
        {
            "requester": "DC Smith",
            "organisation": "Met",
            "kind": "police",
            "basis": "warrant",
            "reason": "burglary",
            "cameras": ["front"],
            "from": "2026-11-27T21:59:58Z",
            "to": "2026-11-27T22:00:02Z",
        }
    )
    app = make_app(vault, export_dir=tmp_path / "exports")
    async with app.run_test(size=(100, 30)) as pilot:
        await open_request(pilot, rid, 1)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ApproveScreen), what="approve")
        await type_text(pilot, "ok")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ReleasePlanScreen), what="plan")
        shown = text_of(app, "#plan")
        assert "released 2026-11-27T21:59:57.000Z to 2026-11-27T22:00:02.000Z" in shown
        assert vault.requests.get(rid).status == "pending"  # nothing signed yet
        await pilot.press("ctrl+s")
        await wait_for(
            pilot, lambda: vault.requests.get(rid).status == "approved", what="the decision"
        )
        await settle(pilot)
    receipt = vault.requests.decision_receipt(rid)
    trim = receipt["release"]["clips"][0]["operations"][0]
    assert trim["disclosed"] == ["2026-11-27T21:59:57.000Z", "2026-11-27T22:00:02.000Z"]
