"""The request screen's strip of frames, on a request of many real H.264 clips.

Showing it files one owner view for the clips in scope and logs each clip as
it is decrypted; the frames stay in memory and go when the vault locks.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from demo import synth
from demo.sample import PASSPHRASE
from tests.plaintext import files_holding, view_roots
from tests.tui.helpers import build_vault, make_app, settle, wait_for
from tui.screens.request import RequestScreen
from tui.widgets.strip import EVERY, FrameStrip, sample_times
from tui.widgets.tables import ClipTable, RequestTable

pytestmark = pytest.mark.skipif(
    "h264" not in synth.available_codecs(), reason="no H.264 encoder here"
)

CLIPS = 24


@pytest.fixture
def many(tmp_path: Path, utc_local_time: None) -> Any:
    vault, request, plaintexts = build_vault(tmp_path, clips=CLIPS, seconds=4.0)
    yield vault, request, plaintexts
    vault.close()


def strip_text(strip: FrameStrip) -> list[str]:
    return [strip.render_line(y).text for y in range(strip.size.height)]


async def test_the_strip_shows_frames_of_every_clip_and_drops_them_on_lock(
    many: Any, tmp_path: Path
) -> None:
    vault, request, plaintexts = many
    started = time.time()
    app = make_app(vault)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(RequestTable)
        table.move_cursor(row=table.get_row_index(request))
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, RequestScreen)
                and app.screen.query_one(ClipTable).row_count == CLIPS
            ),
            what="clips",
        )
        screen: RequestScreen = app.screen  # type: ignore[assignment]
        strip = screen.query_one(FrameStrip)
        assert not strip.display  # nothing is decrypted until the owner asks
        await pilot.press("f")
        await wait_for(pilot, lambda: app.screen.query("#answer"), what="the reason dialog")
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(app.screen.query("#passphrase")), what="passphrase")
        await pilot.press(*PASSPHRASE, "enter")
        await wait_for(pilot, lambda: screen.strip_loader is not None, what="the strip")
        assert strip.display
        loader = screen.strip_loader
        assert loader is not None
        await wait_for(
            pilot,
            lambda: all(strip.has_frames(c.id) for c in screen.clips),
            what="frames of every clip",
        )
        await settle(pilot)
        clips = screen.clips
        # 4-second clips: a frame at 0 s and 3 s each; the first clip is highlighted.
        assert sample_times(4.0) == [0.0, EVERY]
        assert strip.frame_count == 2 * CLIPS
        assert strip.visible_clips()[0] == clips[0].id
        lines = strip_text(strip)
        assert "▀" in lines[0] and "·" * 8 not in "".join(lines)
        assert "10:00:00" in lines[-1] and "+3s" in lines[-1]
        # Moving down the table moves the strip along with it.
        for _ in range(5):
            await pilot.press("down")
        await settle(pilot)
        assert strip.visible_clips()[0] == clips[5].id
        assert "10:05:00" in strip_text(strip)[-1]
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: not vault.unlocked, what="locked")
        await settle(pilot)
        assert strip.frame_count == 0 and not strip.display and screen.strip_loader is None
    viewed = [e for _i, e in vault.audit.entries() if e["type"] == "clip.viewed"]
    assert sorted(e["subject"] for e in viewed) == sorted(c.id for c in clips)
    assert {e["details"]["via"] for e in viewed} == {"strip"}
    # Two owner requests: the clips first on screen, then all the others.
    requests = {e["details"]["request"] for e in viewed}
    assert requests == set(loader.requests) and len(requests) == 2
    own = [r for r in vault.requests.all() if r.kind == "owner"]
    assert {r.id for r in own} == requests and all(r.status == "approved" for r in own)
    for data in plaintexts:
        assert files_holding(data, view_roots(vault.root, tmp_path), started) == []
