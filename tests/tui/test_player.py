"""The preview's player, driven with Pilot: play, pause, step, seek, next clip.

A real vault holds three real 4-second H.264 clips (10 fps) of one camera and
a request for them; the preview decrypts each through the guard and plays
its frames from memory. The position line is read after every key.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from demo import synth
from demo.sample import PASSPHRASE
from tests.plaintext import files_holding, view_roots
from tests.tui.helpers import build_vault, make_app, settle, wait_for
from tui.playhead import Playhead, clock_text
from tui.screens.preview import PreviewScreen
from tui.screens.request import RequestScreen
from tui.widgets.tables import ClipTable, RequestTable

pytestmark = pytest.mark.skipif(
    "h264" not in synth.available_codecs(), reason="no H.264 encoder here"
)


@pytest.fixture
def porch(tmp_path: Path, utc_local_time: None) -> Any:
    vault, request, plaintexts = build_vault(tmp_path)
    yield vault, request, plaintexts
    vault.close()


def position(app: Any) -> str:
    return str(app.screen.query_one("#position").content)


def seconds_shown(app: Any) -> float:
    match = re.search(r"(\d\d):(\d\d\.\d) /", position(app))
    assert match, position(app)
    return int(match[1]) * 60 + float(match[2])


async def preview_first_clip(pilot: Any, request: str) -> PreviewScreen:
    app = pilot.app
    await settle(pilot)
    table = app.screen.query_one(RequestTable)
    table.move_cursor(row=table.get_row_index(request))
    await pilot.press("enter")
    await wait_for(
        pilot,
        lambda: (
            isinstance(app.screen, RequestScreen) and app.screen.query_one(ClipTable).row_count == 3
        ),
        what="the request",
    )
    await settle(pilot)
    await pilot.press("p")
    await wait_for(pilot, lambda: app.screen.query("#answer"), what="the reason dialog")
    await pilot.press("enter")
    await wait_for(pilot, lambda: bool(app.screen.query("#passphrase")), what="passphrase")
    await pilot.press(*PASSPHRASE, "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen), what="the preview")
    screen: PreviewScreen = app.screen  # type: ignore[assignment]
    await wait_for(pilot, lambda: screen._decoded, what="every frame decoded")
    return screen


async def test_play_pause_step_seek_and_next_clip(porch: Any, tmp_path: Path) -> None:
    vault, request, plaintexts = porch
    clips = vault.requests.scope_clips(request)
    started = __import__("time").time()
    app = make_app(vault)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await preview_first_clip(pilot, request)
        assert len(screen.playhead.times) == 40  # 4 s at 10 fps, all in memory
        # It plays by itself: the position moves on (under load it may even reach the
        # end and stop there); then space pauses it.
        await wait_for(pilot, lambda: seconds_shown(app) > 0, what="playing")
        if screen.playhead.playing:
            await pilot.press("space")
        paused = position(app)
        assert paused.startswith("❚❚") and screen.sub_title.endswith("clip 1 of 3")
        for _ in range(5):
            await pilot.pause(0.05)
        assert position(app) == paused  # paused stays put
        await pilot.press("home", "space")  # space plays again from where it is
        assert position(app).startswith("▶")
        await wait_for(pilot, lambda: seconds_shown(app) > 0, what="playing again")
        await pilot.press("space")
        assert position(app).startswith("❚❚")
        await pilot.press("home")
        assert seconds_shown(app) == 0.0 and "frame 1/40" in position(app)
        assert "2026-11-28 10:00:00.0" in position(app)  # the wall-clock time of the frame
        await pilot.press("shift+right", "shift+right")
        assert seconds_shown(app) == pytest.approx(0.2) and "frame 3/40" in position(app)
        assert "10:00:00.2" in position(app)
        await pilot.press("right")
        assert seconds_shown(app) == pytest.approx(1.2)
        await pilot.press("shift+left")
        assert seconds_shown(app) == pytest.approx(1.1)
        await pilot.press("left", "left")
        assert seconds_shown(app) == 0.0
        await pilot.press("end")
        assert "frame 40/40" in position(app) and "03.9 / 00:04.0" in position(app)
        shown = screen._picture().image
        await pilot.press("home")
        assert screen._picture().image is not shown  # another frame is drawn
        # n: the next clip of the request, decrypted (and logged) like the first.
        await pilot.press("n")
        await wait_for(pilot, lambda: screen.clip.id == clips[1].id, what="the next clip")
        await wait_for(
            pilot,
            lambda: screen._decoded and screen.sub_title.endswith("clip 2 of 3"),
            what="its frames",
        )
        assert "10:01:0" in position(app)
        await pilot.press("N")
        await wait_for(pilot, lambda: screen.clip.id == clips[0].id, what="the previous clip")
        await pilot.press("N")  # the first has no previous: it says so and stays
        assert any("first clip" in str(n.message) for n in app._notifications)
        await settle(pilot)
        assert screen.clip.id == clips[0].id
        # Locking closes the preview and drops its frames.
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, RequestScreen), what="locked")
        assert screen.opened is None and screen._images == []
    viewed = [e for _i, e in vault.audit.entries() if e["type"] == "clip.viewed"]
    assert [e["subject"] for e in viewed] == [clips[0].id, clips[1].id, clips[0].id]
    assert all(e["details"]["via"] == "preview" for e in viewed)
    for data in plaintexts:
        assert files_holding(data, view_roots(vault.root, tmp_path), started) == []


async def test_a_clip_played_to_its_end_shows_it_stopped(porch: Any) -> None:
    """At the last frame playing stops, and the position line says so: the sign is
    the paused one, so space (which plays from the start again) does what it shows."""
    vault, request, _plaintexts = porch
    app = make_app(vault)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await preview_first_clip(pilot, request)
        await pilot.press("end", "left")  # one second before the end
        if not screen.playhead.playing:
            await pilot.press("space")
        assert position(app).startswith("▶")
        await wait_for(pilot, lambda: not screen.playhead.playing, what="the end of the clip")
        await wait_for(pilot, lambda: position(app).startswith("❚❚"), what="the stopped sign")
        assert "frame 40/40" in position(app)
        await pilot.press("space")  # from the end, space plays from the start
        assert position(app).startswith("▶") and screen.playhead.index < 39


async def test_a_preview_fits_the_terminal(porch: Any) -> None:
    """At 80x24 the frame is smaller than at 100x30: decoded at the size shown."""
    vault, request, _plaintexts = porch
    sizes = []
    for size in ((80, 24), (100, 30)):
        app = make_app(vault)
        async with app.run_test(size=size) as pilot:
            screen = await preview_first_clip(pilot, request)
            sizes.append(screen._images[0].size)
            box = screen._picture().pixel_box()
            assert sizes[-1][0] <= box[0] and sizes[-1][1] <= box[1]
        vault.lock()
    assert sizes[0][0] < sizes[1][0]
    assert all(w / h == pytest.approx(160 / 96, rel=0.1) for w, h in sizes)


def test_playhead_follows_the_clock() -> None:
    now = [100.0]
    times = [i / 10 for i in range(20)]
    head = Playhead(times, 2.0, lambda: now[0])
    head.toggle()
    now[0] += 0.55
    assert head.tick() and head.position == pytest.approx(0.5)
    now[0] += 5
    head.tick()
    assert head.position == pytest.approx(1.9) and not head.playing  # stops at the end
    head.toggle()  # from the end: starts again
    assert head.position == 0.0 and head.playing
    head.step(3)
    assert not head.playing and head.position == pytest.approx(0.3)
    head.seek(-5)
    assert head.position == 0.0
    head.seek(100)
    assert head.position == pytest.approx(1.9)
    assert clock_text(83.46) == "01:23.4" and clock_text(0) == "00:00.0"
    assert clock_text(3599.99) == "59:59.9"


def test_graphics_mode_is_half_blocks_in_tmux_and_when_asked() -> None:
    from tui.graphics import HALFBLOCK, detect

    assert detect({"TMUX": "/tmp/tmux-0/default,1,0", "TERM": "xterm-kitty"}) == HALFBLOCK
    assert detect({"TERM": "screen-256color"}) == HALFBLOCK
    assert detect({"RINGFENCE_GRAPHICS": "halfblock", "TERM": "xterm-kitty"}) == HALFBLOCK


@pytest.mark.parametrize("mode", ["kitty", "sixel"])
async def test_the_preview_plays_with_kitty_or_sixel_pictures(porch: Any, mode: str) -> None:
    """Under test there is no real terminal to answer; the widget for the protocol is
    still the one used, gets every frame at its pixel size, and plays."""
    pytest.importorskip("textual_image")
    vault, request, _plaintexts = porch
    app = make_app(vault, graphics=mode)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await preview_first_clip(pilot, request)
        picture = screen._picture()
        assert type(picture).__name__ == "GraphicsPicture"
        await wait_for(pilot, lambda: picture.image is not None, what="a frame shown")
        assert screen._images[0].width > 160 // 2  # pixels, not half-block cells
        console = Console(width=120, record=True, file=io.StringIO())
        console.print(app.screen.query_one("#facts").content)
        assert {"kitty": "Kitty graphics", "sixel": "Sixel"}[mode] in console.export_text()
