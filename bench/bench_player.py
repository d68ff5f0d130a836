"""Watching clips in the terminal app: the preview's player and the request's strip.

Measures, in a headless app at 100x30 driven by Pilot, on a real vault:

- frames shown per second while the preview plays a 1280x720 H.264 clip
  (15 fps, 10 s), half-blocks; goal: the clip's own rate, up to 15 fps;
- time from opening the preview (the keys already unlocked) to its first
  frame on screen: the view through the guard, the decryption, the first
  decoded frame, the screen; goal under 300 ms;
- peak memory while playing (the process's RSS above what it was before);
- the strip of frames on a request of 100 clips: time until the clips on
  screen show frames (goal within 1 s) and until every clip's frames are in,
  and the longest UI-thread stall meanwhile (goal under 50 ms), next to the
  longest stall of the same screen left idle for 3 s (on a shared, loaded
  machine the scheduler alone delays the UI thread).

References measured in the same run, without the app: PyAV decoding the same
clip from memory (frames per second, time to its first frame), the guard's
``releases.view`` of the clip, and the same strip work (view, decrypt, pick
the frames) done in a plain loop.

Run: python -m bench.bench_player [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.bench_tui import LagProbe, _until
from bench.common import PASSPHRASE, proc_rss

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
PLAY = (1280, 720, 15, 10.0)  # width, height, fps, seconds


def build(root: Path, strip_clips: int) -> dict[str, Any]:
    """A vault with the 720p clip (camera `front`) and *strip_clips* clips of camera
    `yard`, each with a request."""
    from demo import synth
    from vault.ingest.daemon import Daemon, DaemonOptions
    from vault.service import Vault

    vault = Vault.init(root / "vault", PASSPHRASE, log_n=10, clock=lambda: NOW)
    for cam in ("front", "yard"):
        (root / cam).mkdir()
        vault.cameras.add(cam, root / cam, pattern=f"{cam}_%Y%m%d_%H%M%S")
    w, h, fps, seconds = PLAY
    start = NOW - timedelta(hours=3)
    (root / "front" / f"front_{start:%Y%m%d_%H%M%S}.mp4").write_bytes(
        synth.clip_bytes(
            seconds=seconds, width=w, height=h, fps=fps, codec="h264", label="FRONT", seed=1
        )
    )
    for i in range(strip_clips):
        at = start + timedelta(minutes=i)
        (root / "yard" / f"yard_{at:%Y%m%d_%H%M%S}.mp4").write_bytes(
            synth.clip_bytes(
                seconds=3,
                width=640,
                height=360,
                fps=10,
                codec="h264",
                label=f"YARD {i}",
                seed=100 + i,
            )
        )
    Daemon(vault, DaemonOptions(once=True, settle_seconds=0)).run()
    ids = {}
    for cam, n in (("front", 1), ("yard", strip_clips)):
        ids[cam] = vault.requests.add(
            {
                "requester": "bench",
                "organisation": "bench",
                "kind": "police",
                "basis": "warrant",
                "reason": "bench",
                "cameras": [cam],
                "from": start - timedelta(minutes=1),
                "to": start + timedelta(minutes=n + 1),
            }
        )
    vault.close()
    return {"vault": root / "vault", "requests": ids}


def references(vault: Any, play_clip: Any, yard: list[Any]) -> dict[str, Any]:
    """The same work without the app: decode from memory, the guard's view, the strip loop."""
    import av

    from tui.strip_loader import THUMB_BOX
    from tui.video import frames_at
    from tui.widgets.strip import sample_times

    t0 = time.perf_counter()
    data = vault.releases.view(play_clip.id, "bench reference")
    view_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    first = None
    frames = 0
    with av.open(io.BytesIO(data)) as container:
        for _frame in container.decode(video=0):
            frames += 1
            if first is None:
                first = time.perf_counter() - t0
    decode_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    viewing = vault.releases.viewing([c.id for c in yard], "bench reference", via="strip")
    for c in yard:
        frames_at(viewing.read(c.id), sample_times(c.duration_s), THUMB_BOX)
    strip_s = time.perf_counter() - t0
    return {
        "ref_view_ms": view_s * 1000,
        "ref_first_decoded_frame_ms": (first or 0) * 1000,
        "ref_decode_fps": frames / decode_s,
        "ref_strip_loop_s": strip_s,
        "clip_frames": frames,
        "clip_bytes": len(data),
    }


class RssProbe:
    """Samples this process's RSS every 10 ms in a thread; the peak."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, proc_rss(os.getpid()))
            self._stop.wait(0.01)

    def __enter__(self) -> RssProbe:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def drive(made: dict[str, Any]) -> dict[str, Any]:
    from tui.app import RingfenceApp, tune_gc, tune_threads
    from tui.screens.preview import Opened, PreviewScreen, picture_box
    from tui.screens.request import RequestScreen
    from tui.widgets.strip import FrameStrip
    from tui.widgets.tables import ClipTable
    from vault.service import Vault, VaultStatus
    from vault.service.results import DaemonState

    vault = Vault.open(made["vault"], clock=lambda: NOW)
    vault.unlock(PASSPHRASE)
    play_clip = vault.requests.scope_clips(made["requests"]["front"])[0]
    yard = vault.requests.scope_clips(made["requests"]["yard"])
    out = references(vault, play_clip, yard)
    still = VaultStatus(
        vault=Path("/"),
        daemon=DaemonState(running=True, pid=1, started_at=None, last_beat=None),
        receivers={},
        cameras=(),
        folders=(),
        clips=0,
        truncated=0,
        last_ingest=None,
        files_waiting=0,
        held_back=(),
        unknown_payloads=(),
        store_bytes=0,
        free_bytes=1 << 40,
        low_disk=False,
        audit_size=0,
    )
    vault.status.report = lambda: still  # type: ignore[method-assign]
    app = RingfenceApp(vault, status_seconds=0)
    tune_gc()
    tune_threads()  # as `ringfence tui` does
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        # --- the preview: opening to the first frame, then playing it through.
        rss_before = proc_rss(os.getpid())
        with RssProbe() as rss:
            t0 = time.monotonic()  # the clock PreviewScreen.first_frame_at is on
            shown: list[PreviewScreen] = []

            def show(opened: Opened) -> None:
                screen = PreviewScreen(opened, "bench")
                shown.append(screen)
                app.push_screen(screen)

            box = picture_box(app)  # as start_preview does
            app.call_vault(
                lambda: Opened(play_clip, vault.releases.view(play_clip.id, "bench"), box),
                show,
                name="preview",
            )
            await _until(pilot, lambda: bool(shown) and shown[0].first_frame_at is not None)
            screen = shown[0]
            out["first_frame_ms"] = (screen.first_frame_at - t0) * 1000  # type: ignore[operator]
            await _until(
                pilot, lambda: not screen.playhead.playing and screen._decoded, timeout=120
            )
            # From the first frame drawn to the last: the pace frames were shown
            # at, not including how long the wait above took to notice the end.
            played_s = screen.last_drawn_at - screen.first_drawn_at  # type: ignore[operator]
            out["frames_drawn"] = screen.frames_drawn
            out["shown_fps"] = (screen.frames_drawn - 1) / max(1e-9, played_s)
            out["played_s"] = played_s
            out["decoded_frame_px"] = list(screen._images[0].size)
        out["rss_before_mib"] = rss_before / 2**20
        out["rss_peak_mib"] = rss.peak / 2**20
        out["rss_growth_mib"] = (rss.peak - rss_before) / 2**20
        await pilot.press("escape")
        await pilot.pause()
        # --- the strip on the 100-clip request.
        request = RequestScreen(made["requests"]["yard"])
        app.push_screen(request)
        await _until(
            pilot,
            lambda: (
                app.screen is request
                and bool(request.query(ClipTable))
                and request.query_one(ClipTable).row_count == len(yard)
                and request.info is not None
            ),
        )
        strip = request.query_one(FrameStrip)
        probe = LagProbe()
        # The reference for stalls: the same screen doing nothing, for as long as the
        # strip will take (the machine's own scheduling delays show here too).
        probe.start()
        await asyncio.sleep(3.0)
        out["idle_lag"] = probe.stop()
        probe.start()
        t0 = time.perf_counter()
        request._open_strip("bench")
        await _until(pilot, lambda: request.strip_loader is not None)
        visible = strip.visible_clips()
        await _until(pilot, lambda: all(strip.has_frames(c) for c in visible))
        out["strip_first_frames_s"] = time.perf_counter() - t0
        out["strip_visible_clips"] = len(visible)
        await _until(pilot, lambda: all(strip.has_frames(c.id) for c in yard), timeout=600)
        out["strip_all_s"] = time.perf_counter() - t0
        out["strip_lag"] = probe.stop()
        out["strip_clips"] = len(yard)
    vault.close()
    w, h, fps, _seconds = PLAY
    out["clip"] = f"{w}x{h} H.264, {fps} fps, {out['clip_frames']} frames"
    out["shown_fps_goal"] = min(fps, 15)
    out["shown_fps_ratio"] = out["shown_fps"] / out["shown_fps_goal"]
    out["first_frame_ratio"] = out["first_frame_ms"] / (
        out["ref_view_ms"] + out["ref_first_decoded_frame_ms"]
    )
    out["strip_all_ratio"] = out["strip_all_s"] / out["ref_strip_loop_s"]
    out["strip_lag_ratio"] = out["strip_lag"]["max_ms"] / max(1e-9, out["idle_lag"]["max_ms"])
    return out


def main(quick: bool = False) -> dict[str, Any]:
    """Run the benchmark; print the figures and return them."""
    strip_clips = 20 if quick else 100
    os.environ.setdefault("TZ", "UTC")
    time.tzset()
    with tempfile.TemporaryDirectory(prefix="bench-player-") as tmp:
        t0 = time.perf_counter()
        made = build(Path(tmp), strip_clips)
        build_s = time.perf_counter() - t0
        f = asyncio.run(drive(made))
    print(f"preview player and strip (100x30, headless, half-blocks); clip: {f['clip']}")
    print(
        f"  frames shown per second:  {f['shown_fps']:6.1f}  (goal {f['shown_fps_goal']}; "
        f"PyAV alone decodes {f['ref_decode_fps']:.0f} fps)"
    )
    print(
        f"  open to first frame:      {f['first_frame_ms']:6.0f} ms  (goal 300; the guard's "
        f"view {f['ref_view_ms']:.0f} ms + first decoded frame "
        f"{f['ref_first_decoded_frame_ms']:.0f} ms)"
    )
    print(
        f"  peak RSS while playing:   {f['rss_peak_mib']:6.1f} MiB "
        f"(+{f['rss_growth_mib']:.1f} MiB over {f['rss_before_mib']:.1f})"
    )
    print(
        f"  strip, {f['strip_clips']} clips: visible frames {f['strip_first_frames_s']:.2f} s, "
        f"all {f['strip_all_s']:.2f} s (plain loop {f['ref_strip_loop_s']:.2f} s), "
        f"longest UI stall {f['strip_lag']['max_ms']:.0f} ms "
        f"(p99 {f['strip_lag']['p99_ms']:.0f} ms; idle {f['idle_lag']['max_ms']:.0f} ms)"
    )
    return {"build_s": build_s, **f}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a strip of 20 clips")
    main(parser.parse_args().quick)
