"""Ingest benchmarks: exposure window, throughput, catalog queries, idle cost.

Run: python -m bench.bench_ingest [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import PASSPHRASE, env_for, percentile, proc_cpu_seconds, proc_rss, ringfence


def _new_vault(root: Path) -> tuple[Path, Path]:
    vault, drop = root / "vault", root / "drop"
    drop.mkdir(parents=True)
    from vault.service import Vault

    Vault.init(vault, PASSPHRASE, log_n=12).close()
    ringfence(vault, "camera", "add", "front", str(drop))
    return vault, drop


def _start_daemon(vault: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "vault", "daemon"],
        env=env_for(vault),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not (vault / "daemon.json").exists():
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("the daemon did not start")
        time.sleep(0.05)
    return proc


def _wait_gone(path: Path, timeout: float = 30.0) -> float:
    """Poll until *path* disappears; returns the perf_counter time it was seen gone."""
    end = time.perf_counter() + timeout
    while os.path.lexists(path):
        if time.perf_counter() > end:
            raise RuntimeError(f"{path} was never sealed")
        time.sleep(0.0005)
    return time.perf_counter()


def exposure(root: Path, clips: int = 200, size: int = 5 << 20) -> dict[str, Any]:
    """Camera closes a clip -> its plaintext is gone, per clip."""
    vault, drop = _new_vault(root)
    proc = _start_daemon(vault)
    data = os.urandom(size)
    times = []
    try:
        for i in range(clips):
            path = drop / f"clip-{i:04d}.mp4"
            with open(path, "wb") as f:
                f.write(data[:-8] + i.to_bytes(8, "big"))
            closed = time.perf_counter()
            times.append(_wait_gone(path) - closed)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # Reference: the stock age CLI sealing the same 5 MiB file, started per file.
    ref_file = root / "ref.bin"
    ref_file.write_bytes(data)
    age_bin = shutil.which("age")
    ref = float("nan")
    if age_bin:
        ident = subprocess.run(["age-keygen"], capture_output=True, text=True, check=True).stdout
        recipient = [ln.split(": ")[1] for ln in ident.splitlines() if "public key" in ln][0]
        runs = []
        for _ in range(20):
            t0 = time.perf_counter()
            subprocess.run(
                [age_bin, "-r", recipient, "-o", str(root / "ref.age"), str(ref_file)], check=True
            )
            runs.append(time.perf_counter() - t0)
        ref = percentile(runs, 0.5)
    p50, p99 = percentile(times, 0.5), percentile(times, 0.99)
    return {
        "clips": clips,
        "size_mib": size >> 20,
        "p50_ms": p50 * 1e3,
        "p99_ms": p99 * 1e3,
        "max_ms": max(times) * 1e3,
        "age_cli_seal_ms": ref * 1e3,
        "p50_ratio_vs_age": p50 / ref if ref == ref else None,
    }


def throughput(root: Path, clips: int = 1000, size: int = 2 << 20) -> dict[str, Any]:
    vault, drop = _new_vault(root)
    base = os.urandom(size)
    for i in range(clips):
        (drop / f"c{i:05d}.mp4").write_bytes(base[:-8] + i.to_bytes(8, "big"))
    t0 = time.perf_counter()
    ringfence(vault, "daemon", "--once")
    wall = time.perf_counter() - t0
    # Reference: a plain durable copy of the same bytes (write, fsync, rename), in-process.
    ref_dir = root / "ref"
    ref_dir.mkdir()
    t1 = time.perf_counter()
    for i in range(clips):
        tmp = ref_dir / f".{i}.tmp"
        with open(tmp, "wb") as f:
            f.write(base[:-8] + i.to_bytes(8, "big"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, ref_dir / f"{i}.bin")
    ref = time.perf_counter() - t1
    return {
        "clips": clips,
        "size_mib": size >> 20,
        "seconds": wall,
        "clips_per_s": clips / wall,
        "mib_per_s": clips * size / wall / (1 << 20),
        "durable_copy_seconds": ref,
        "ratio_vs_durable_copy": wall / ref,
    }


def queries(root: Path, rows: int = 1_000_000) -> dict[str, Any]:
    """`clips list` windows in a catalog of *rows* clips inserted directly."""
    vault, _drop = _new_vault(root)
    db = sqlite3.connect(vault / "catalog.db")
    db.execute("PRAGMA synchronous=OFF")
    cams = []
    for n in range(4):
        db.execute(
            "INSERT OR IGNORE INTO camera(name, retention_days, created_at) VALUES (?, 0, ?)",
            (f"cam{n}", "2026-01-01 00:00:00.000000"),
        )
    cams = [r[0] for r in db.execute("SELECT id FROM camera ORDER BY id")]
    start = datetime(2026, 1, 1)
    step = timedelta(seconds=(365 * 86400) / (rows / len(cams)))

    def gen():  # type: ignore[no-untyped-def]
        for i in range(rows):
            cam = cams[i % len(cams)]
            t = start + step * (i // len(cams))
            ts = t.strftime("%Y-%m-%d %H:%M:%S.%f")
            h = hashlib.sha256(i.to_bytes(8, "big")).hexdigest()
            yield (
                f"clp_{i:016d}",
                cam,
                ts,
                ts,
                2 << 20,
                h,
                2 << 20,
                h,
                b"x" * 200,
                f"{i}.mp4",
                b"/drop/x.mp4",
            )

    db.executemany(
        "INSERT INTO clip(id, camera_id, captured_at, ingested_at, size, sha256, payload_size,"
        " payload_sha256, header, original_name, source_path) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        gen(),
    )
    db.commit()
    db.execute("ANALYZE")
    db.close()
    from vault.service import Vault

    v = Vault.open(vault)
    day = datetime(2026, 6, 15)
    results: dict[str, Any] = {"rows": rows}
    for label, since, until in (
        ("camera_day", day, day + timedelta(days=1)),
        ("one_hour", day + timedelta(hours=10), day + timedelta(hours=11)),
    ):
        runs = []
        n = 0
        for _ in range(30):
            t0 = time.perf_counter()
            n = len(v.clips.all(camera="cam1", since=since, until=until))
            runs.append(time.perf_counter() - t0)
        results[f"{label}_ms"] = percentile(runs, 0.5) * 1e3
        results[f"{label}_rows"] = n
    # Reference: fetching one clip by its id, the cheapest catalog read.
    runs = []
    for i in range(0, 30):
        t0 = time.perf_counter()
        v.clips.get(f"clp_{i * 997:016d}")
        runs.append(time.perf_counter() - t0)
    ref = percentile(runs, 0.5)
    results["point_lookup_ms"] = ref * 1e3
    results["camera_day_ratio_vs_point"] = results["camera_day_ms"] / (ref * 1e3)
    results["one_hour_ratio_vs_point"] = results["one_hour_ms"] / (ref * 1e3)
    v.close()
    return results


def idle(root: Path, seconds: float = 20.0) -> dict[str, Any]:
    vault, _drop = _new_vault(root)
    proc = _start_daemon(vault)
    try:
        time.sleep(3)
        cpu0, t0 = proc_cpu_seconds(proc.pid), time.monotonic()
        time.sleep(seconds)
        cpu = proc_cpu_seconds(proc.pid) - cpu0
        wall = time.monotonic() - t0
        rss = proc_rss(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    ref = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(2)"])
    time.sleep(1)
    ref_rss = proc_rss(ref.pid)
    ref.wait()
    return {
        "seconds": wall,
        "cpu_percent": 100 * cpu / wall,
        "rss_mib": rss / (1 << 20),
        "bare_python_rss_mib": ref_rss / (1 << 20),
        "rss_ratio_vs_bare_python": rss / ref_rss,
    }


def main(quick: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="rf-bench-") as tmp:
        root = Path(tmp)
        for name, fn, kwargs in (
            ("exposure", exposure, {"clips": 40 if quick else 200}),
            ("throughput", throughput, {"clips": 100 if quick else 1000}),
            ("queries", queries, {"rows": 50_000 if quick else 1_000_000}),
            ("idle", idle, {"seconds": 5.0 if quick else 20.0}),
        ):
            sub = root / name
            sub.mkdir()
            t0 = time.perf_counter()
            out[name] = fn(sub, **kwargs)  # type: ignore[operator]
            print(f"{name}: {out[name]}  ({time.perf_counter() - t0:.1f}s)", flush=True)
            shutil.rmtree(sub, ignore_errors=True)
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    main(ap.parse_args().quick)
