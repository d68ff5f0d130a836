"""Minimised exports: cutting a clip to a window by remux, against copying it.

A 60 s 1080p H.264 clip with AAC sound (25 fps, a keyframe every 2 s, made
with ffmpeg) is cut to the window from 10.5 s to 49.5 s by the export's trim
step (vault.transform.steps.Trim: reading the packet index, choosing the
keyframe, writing a new MP4 with no edit list), and the same file is copied
(read and written with an fsync, what an export of the original does after
decrypting). Both are timed in this process, alternating, median of several
runs; the figure is the ratio. Goal: trim-remux within 3x of the copy.
Removing the sound and adding the wall-clock track (each a remux of the cut
file) are timed the same way.

Run: python -m bench.bench_export [--quick]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

GOAL = 3.0
CAPTURED = datetime(2026, 11, 27, 21, 59, 0, tzinfo=UTC)


def _make_clip(path: Path, seconds: int) -> None:
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=25",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-t",
            str(seconds),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "50",
            "-keyint_min",
            "50",
            "-sc_threshold",
            "0",
            "-bf",
            "0",
            "-pix_fmt",
            "yuv420p",
            "-b:v",
            "6M",
            "-c:a",
            "aac",
            "-shortest",
            str(path),
        ],
        check=True,
    )


def _copy(src: Path, dst: Path) -> None:
    with open(src, "rb") as a, open(dst, "wb") as b:
        shutil.copyfileobj(a, b, 1 << 20)
        b.flush()
        os.fsync(b.fileno())


def _timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(quick: bool = False) -> dict[str, Any]:
    from vault.transform import plan, remux
    from vault.transform.plan import Cut
    from vault.transform.steps import ClipSource, StripAudio, TimeTrack, Trim

    seconds = 20 if quick else 60
    repeat = 3 if quick else 7
    with tempfile.TemporaryDirectory(prefix="ringfence-bench-export-") as tmp:
        work = Path(tmp)
        src = work / "clip.mp4"
        _make_clip(src, seconds)
        index = remux.read_index(src)
        start = CAPTURED + timedelta(seconds=10.5)
        end = CAPTURED + timedelta(seconds=seconds - 10.5)
        planned = Trim.plan(index, CAPTURED, start, end, Cut.REMUX)
        assert planned is not None
        clip = ClipSource("clp_bench", "front", CAPTURED, "0" * 64)
        runs: dict[str, list[float]] = {"copy": [], "trim": [], "strip_audio": [], "time_track": []}
        cut = work / "cut.mp4"
        clock = {"op": plan.TIME_TRACK, "start": planned["disclosed"][0]}

        def one_round(n: int) -> None:
            for p in work.glob("out-*"):
                p.unlink()
            runs["copy"].append(_timed(lambda: _copy(src, work / f"out-copy-{n}")))
            runs["trim"].append(_timed(lambda: Trim().apply(src, cut, planned, clip)))
            runs["strip_audio"].append(
                _timed(
                    lambda: StripAudio().apply(
                        cut, work / f"out-strip-{n}", {"op": plan.STRIP_AUDIO}, clip
                    )
                )
            )
            runs["time_track"].append(
                _timed(lambda: TimeTrack().apply(cut, work / f"out-clock-{n}", clock, clip))
            )
            cut.unlink()

        one_round(-1)  # warm the page cache and PyAV's libraries
        runs = {k: [] for k in runs}
        for n in range(repeat):
            one_round(n)
        size_mib = src.stat().st_size / (1 << 20)
    med = {k: statistics.median(v) for k, v in runs.items()}
    return {
        "clip": f"{seconds} s, 1920x1080, 25 fps, H.264 (keyframe every 2 s) + AAC, "
        f"{size_mib:.1f} MiB",
        "window": f"{planned['requested'][0]} to {planned['requested'][1]}",
        "disclosed": f"{planned['disclosed'][0]} to {planned['disclosed'][1]}",
        "frames_kept": planned["frames"],
        "repeat": repeat,
        "copy_s": med["copy"],
        "trim_remux_s": med["trim"],
        "trim_ratio": med["trim"] / med["copy"],
        "trim_goal": GOAL,
        "trim_within_goal": med["trim"] / med["copy"] <= GOAL,
        "strip_audio_s": med["strip_audio"],
        "time_track_s": med["time_track"],
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    print(main(quick=ap.parse_args().quick))
