"""Terminal app at scale: 100,000 clips and 10,000 requests.

Measures, in a headless app at 80x24 driven by Pilot:

- time to first screen: from starting the app to the inbox showing requests;
- time to open a request with 1,000 clips in scope: to its first clips, and to
  all of them (with the request's details);
- the longest stall of the UI thread (event-loop lag) while the owner pages
  through 2,000 requests and through the 1,000 clips.

Each time is also given as a ratio to the service calls behind it, timed in
the same process (``vault.requests.all(limit=200)``, ``vault.requests.scope_clips(id)``):
how much the app adds on top of the data it needs.

The catalog is filled with plain SQL (no real clips: the app only lists them).

Run: python -m bench.bench_tui [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import PASSPHRASE

START = datetime(2026, 1, 1, tzinfo=UTC)
BIG_SCOPE = 1000


def _ts(dt: datetime) -> str:
    """The catalog's text form of a UTC time."""
    return dt.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def build_catalog(root: Path, clips: int, requests: int) -> dict[str, Any]:
    """A vault whose catalog holds *clips* clips and *requests* requests."""
    from vault.service import Vault

    vault = Vault.init(root / "vault", PASSPHRASE, log_n=10)
    for name in ("front", "back"):
        vault.cameras.add(name, root / "drop" / name)
    cams = {c.name: i + 1 for i, c in enumerate(vault.cameras.all())}
    vault.close()
    db = sqlite3.connect(root / "vault" / "catalog.db")
    header = b"\0" * 168
    now = _ts(START + timedelta(days=400))
    rows = []
    for i in range(clips):
        cam = cams["front"] if i % 2 == 0 else cams["back"]
        at = START + timedelta(minutes=i // 2)
        sha = hashlib.sha256(i.to_bytes(8, "big")).hexdigest()
        rows.append(
            (
                f"clp_{i:016d}",
                cam,
                _ts(at),
                now,
                1_500_000 + i % 1000,
                sha,
                1_500_200,
                sha,
                header,
                f"cam_{i:08d}.mp4",
                b"/drop/x.mp4",
                "mp4",
                10.0,
                1920,
                1080,
                "h264",
            )
        )
    db.executemany(
        "INSERT INTO clip (id, camera_id, captured_at, ingested_at, size, sha256, payload_size,"
        " payload_sha256, header, original_name, source_path, container, duration_s, width,"
        " height, codec) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    span_minutes = clips // 2
    reqs, links = [], []
    for j in range(requests):
        rid = f"req_{j:016d}"
        status = "pending" if j % 3 == 0 else ("approved" if j % 3 == 1 else "refused")
        basis = "emergency" if j % 50 == 0 else "warrant"
        offset = (j * 7919) % max(span_minutes - 120, 1)
        frm = START + timedelta(minutes=offset)
        deadline = _ts(START + timedelta(days=400, hours=j % 200)) if j % 4 else None
        reqs.append(
            (
                rid,
                now,
                now,
                status,
                f"Requester {j}",
                f"Organisation {j % 97}",
                "police",
                basis,
                f"REF-{j}",
                "a reason",
                _ts(frm),
                _ts(frm + timedelta(hours=2)),
                deadline,
            )
        )
        links.append((rid, cams["front"] if j % 2 == 0 else cams["back"]))
    big = "req_big0000000000000"
    reqs.append(
        (
            big,
            now,
            now,
            "pending",
            "Big request",
            "Organisation X",
            "court",
            "court-order",
            "REF-BIG",
            "1,000 clips",
            _ts(START),
            _ts(START + timedelta(minutes=BIG_SCOPE - 1)),
            None,
        )
    )
    links.append((big, cams["front"]))
    db.executemany(
        "INSERT INTO request (id, created_at, updated_at, status, requester, organisation, kind,"
        " basis, reference, reason, scope_from, scope_to, deadline)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        reqs,
    )
    db.executemany("INSERT INTO request_camera (request_id, camera_id) VALUES (?,?)", links)
    db.commit()
    db.close()
    return {"vault": root / "vault", "big": big}


class LagProbe:
    """Measures how late the event loop runs a 5 ms sleep: the UI thread's stalls."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(0.005)
            self.lags.append(time.perf_counter() - t0 - 0.005)

    def start(self) -> None:
        self.lags = []
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> dict[str, float]:
        assert self._task is not None
        self._task.cancel()
        lags = sorted(self.lags) or [0.0]
        return {
            "max_ms": lags[-1] * 1000,
            "p99_ms": lags[int(len(lags) * 0.99)] * 1000,
            "median_ms": statistics.median(lags) * 1000,
        }


async def _until(pilot: Any, predicate: Any, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        await pilot.pause(0.001)


def _median_time(fn: Any, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


async def drive(vault_dir: Path, big: str, scroll_rows: int) -> dict[str, Any]:
    from tui.app import RingfenceApp, tune_gc
    from tui.screens.request import RequestScreen
    from tui.widgets.tables import ClipTable, RequestTable
    from vault.service import Vault

    vault = Vault.open(vault_dir, clock=lambda: START + timedelta(days=400))
    out: dict[str, Any] = {
        "ref_requests_page_s": _median_time(lambda: vault.requests.all(limit=200)),
        "ref_scope_clips_s": _median_time(lambda: vault.requests.scope_clips(big)),
    }
    probe = LagProbe()
    t0 = time.perf_counter()
    app = RingfenceApp(vault, status_seconds=0)
    tune_gc()  # as `ringfence tui` does
    async with app.run_test(size=(80, 24)) as pilot:
        probe.start()

        def inbox_rows() -> int:
            tables = app.screen.query(RequestTable)
            return tables.first().row_count if tables else 0

        await _until(pilot, lambda: inbox_rows() > 0)
        out["first_screen_s"] = time.perf_counter() - t0
        await app.workers.wait_for_complete()
        out["first_screen_with_counts_s"] = time.perf_counter() - t0
        out["startup_lag"] = probe.stop()

        # Page through the inbox: pages of 200 load behind the cursor.
        table = app.screen.query_one(RequestTable)
        probe.start()
        t1 = time.perf_counter()
        while table.cursor_row < scroll_rows - 1:
            await pilot.press("pagedown")
        out["inbox_scroll_rows"] = table.cursor_row + 1
        out["inbox_scroll_s"] = time.perf_counter() - t1
        out["inbox_scroll_lag"] = probe.stop()

        # Open the request with 1,000 clips in scope.
        probe.start()
        t2 = time.perf_counter()
        app.push_screen(RequestScreen(big))

        def clip_rows() -> int:
            tables = app.screen.query(ClipTable)
            return tables.first().row_count if tables else 0

        await _until(pilot, lambda: clip_rows() > 0)
        out["open_request_first_clips_s"] = time.perf_counter() - t2
        await _until(pilot, lambda: clip_rows() >= BIG_SCOPE and app.screen.info is not None)  # type: ignore[attr-defined]
        out["open_request_all_clips_s"] = time.perf_counter() - t2
        out["open_request_lag"] = probe.stop()

        clips = app.screen.query_one(ClipTable)
        probe.start()
        t3 = time.perf_counter()
        while clips.cursor_row < BIG_SCOPE - 1:
            await pilot.press("pagedown")
        out["clips_scroll_s"] = time.perf_counter() - t3
        out["clips_scroll_lag"] = probe.stop()

    vault.close()
    out["first_screen_ratio"] = out["first_screen_s"] / out["ref_requests_page_s"]
    out["open_request_ratio"] = out["open_request_all_clips_s"] / out["ref_scope_clips_s"]
    return out


def main(quick: bool = False) -> dict[str, Any]:
    """Run the benchmark; print the figures and return them."""
    clips, requests, scroll = (10_000, 1_000, 600) if quick else (100_000, 10_000, 2_000)
    os.environ.setdefault("TZ", "UTC")
    with tempfile.TemporaryDirectory(prefix="bench-tui-") as tmp:
        t0 = time.perf_counter()
        made = build_catalog(Path(tmp), clips, requests)
        build_s = time.perf_counter() - t0
        figures = asyncio.run(drive(made["vault"], made["big"], scroll))
    result = {"clips": clips, "requests": requests, "build_s": build_s, **figures}
    print(f"terminal app, {clips:,} clips and {requests:,} requests (80x24, headless)")
    print(
        f"  first screen (inbox rows shown):       {figures['first_screen_s'] * 1000:8.0f} ms"
        f"   ({figures['first_screen_ratio']:.1f}x one vault.requests page)"
    )
    print(
        f"  ... with the pending counts:           "
        f"{figures['first_screen_with_counts_s'] * 1000:8.0f} ms"
    )
    print(
        f"  open a request, first clips shown:     "
        f"{figures['open_request_first_clips_s'] * 1000:8.0f} ms"
    )
    print(
        f"  open a request, all {BIG_SCOPE:,} clips listed:  "
        f"{figures['open_request_all_clips_s'] * 1000:8.0f} ms"
        f"   ({figures['open_request_ratio']:.1f}x vault.requests.scope_clips)"
    )
    for key, label in (
        ("startup_lag", "starting"),
        ("inbox_scroll_lag", f"paging {figures['inbox_scroll_rows']:,} requests"),
        ("open_request_lag", "opening the request"),
        ("clips_scroll_lag", f"paging {BIG_SCOPE:,} clips"),
    ):
        lag = figures[key]
        print(
            f"  UI stall while {label + ':':28} max {lag['max_ms']:6.0f} ms, "
            f"p99 {lag['p99_ms']:5.0f} ms"
        )
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 clips, 1,000 requests")
    main(parser.parse_args().quick)
