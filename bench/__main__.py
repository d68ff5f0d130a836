"""`make bench`: run every benchmark and write docs/performance.md.

Each figure is reported with the reference it is measured against in the same
run (the stock `age` CLI, a plain durable copy, a point lookup, a bare Python
process), so the ratios are meaningful across machines.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "docs" / "performance.md"
RAW = Path(__file__).resolve().parent / "out"


def _run(name: str, quick: bool) -> dict[str, Any]:
    module = importlib.import_module(f"bench.{name}")
    t0 = time.perf_counter()
    try:
        if name == "bench_age":
            result = module.main(size_mib=64 if quick else 256)
        elif name == "bench_audit":
            result = module.main(entries=50_000 if quick else 1_000_000)
        else:
            result = module.main(quick=quick)
        return {"ok": True, "seconds": time.perf_counter() - t0, "result": result}
    except Exception:  # a failing benchmark is reported, not hidden
        return {"ok": False, "seconds": time.perf_counter() - t0, "error": traceback.format_exc()}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        return "`" + json.dumps(value, sort_keys=True) + "`"
    return str(value)


def _section(title: str, data: dict[str, Any]) -> list[str]:
    lines = [f"## {title}", ""]
    if not data["ok"]:
        lines += ["The benchmark failed in this run:", "", "```", data["error"].rstrip(), "```", ""]
        return lines
    lines += ["| measure | value |", "| --- | --- |"]

    def walk(prefix: str, obj: Any) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(f"{prefix}{k}." if isinstance(v, dict) else f"{prefix}{k}", v)
        else:
            lines.append(f"| {prefix} | {_fmt(obj)} |")

    walk("", data["result"])
    lines += ["", f"({data['seconds']:.1f} s to run)", ""]
    return lines


def _machine() -> list[str]:
    age_version = "not installed"
    if shutil.which("age"):
        age_version = subprocess.run(
            ["age", "--version"], capture_output=True, text=True
        ).stdout.strip()
    return [
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        f"- age CLI: {age_version}",
    ]


TARGETS = """\
Targets from the issues, and where each figure is:

| target | measure below |
| --- | --- |
| sealing at least as fast as `age` (ratio <= 1.0), peak RSS < 64 MiB | age: `seal.wall_ratio`, `seal.ringfence.peak_rss_mib` |
| exposure p99 < 250 ms (5 MiB clip closed -> plaintext gone) | ingest: `exposure.p99_ms` |
| window queries < 20 ms at 1,000,000 clips | ingest: `queries.camera_day_ms`, `queries.one_hour_ms` |
| daemon idle CPU near zero, RSS < 100 MiB | ingest: `idle.cpu_percent`, `idle.rss_mib` |
| audit verify < 10 s, proof < 5 ms, append < 1 ms at 1,000,000 | audit |
| TUI first screen and a 1,000-clip request open without stalls | tui |
| preview plays 720p at the clip's rate up to 15 fps, first frame < 300 ms, strip of 100 clips: visible frames < 1 s, UI stall < 50 ms | watching clips: `shown_fps`, `first_frame_ms`, `rss_peak_mib`, `strip_first_frames_s`, `strip_lag.max_ms` |
| `ringfence --help` within 6x of `python -c pass`, `status --json` within 15x | command start-up: `help_ratio`, `status_ratio` |
| FTP upload of 200 clips of 5 MiB within 1.25x of a plain pyftpdlib server writing files, with 0 plaintext bytes written; upload end -> listed p50/p99 | FTP receiver: `time_ratio`, `plaintext_bytes_found`, `upload_to_listed` |
| stream recorder's CPU per 1080p stream: it only remuxes, never decodes (near `ffmpeg -c copy`, far below decoding) | stream recorder: `cpu_per_footage_second`, `ratio_to_copy`, `ratio_to_decode` |
| mask re-encode and face-blur speed at 720p (fps), C2PA signing time per file | redaction: `mask_fps`, `blur_faces_fps`, `c2pa.sign_ms` |
| trim-remux of a 60 s 1080p clip within 3x of copying it | minimised export: `trim_ratio` |
| readdressing 100,000 headers (a recipient added) against reading them; incremental backup of a 10 GiB vault after 1 % new clips against `rsync` | recovery keys and backups: `readdress.ratio`, `backup.ratio_to_rsync` |
"""


def _earlier_sections(titles: dict[str, str], rerun: set[str]) -> dict[str, list[str]]:
    """The sections of the current docs/performance.md that this run does not redo.

    `--only NAME` re-measures one benchmark; the others keep their figures
    (each section says how long its own run took).
    """
    if not OUT.exists():
        return {}
    by_title = {title: name for name, title in titles.items()}
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for line in OUT.read_text().splitlines():
        if line.startswith("## "):
            current = by_title.get(line[3:].strip())
            if current is not None and current not in rerun:
                sections[current] = []
            else:
                current = None
        if current is not None:
            sections[current].append(line)
    return sections


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m bench")
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    ap.add_argument("--only", action="append", help="bench module name(s), e.g. bench_age")
    args = ap.parse_args()
    names = args.only or [p.stem for p in sorted(Path(__file__).parent.glob("bench_*.py"))]
    results = {}
    for name in names:
        print(f"== {name}", flush=True)
        results[name] = _run(name, args.quick)
        if not results[name]["ok"]:
            print(results[name]["error"], file=sys.stderr)
    RAW.mkdir(exist_ok=True)
    (RAW / "results.json").write_text(json.dumps(results, indent=2, default=str))
    lines = [
        "# Performance",
        "",
        "Written by `make bench` (`python -m bench`"
        + (" --quick" if args.quick else "")
        + "); do not edit by hand."
        + (
            " This run re-measured only " + ", ".join(sorted(results)) + "; the other sections "
            "are from an earlier run."
            if args.only
            else ""
        ),
        "",
    ]
    lines += _machine() + ["", TARGETS]
    titles = {
        "bench_age": "age: seal and open",
        "bench_ingest": "ingest daemon",
        "bench_audit": "audit log",
        "bench_tui": "terminal app",
        "bench_player": "watching clips: the preview's player and the strip",
        "bench_startup": "command start-up",
        "bench_redact": "redaction and content credentials",
        "bench_export": "minimised export",
        "bench_ftp": "FTP receiver",
        "bench_recorder": "stream recorder",
        "bench_keys": "recovery keys and backups",
    }
    kept = _earlier_sections(titles, set(results)) if args.only else {}
    for name in sorted(set(results) | set(kept)):  # the order of a full run
        if name in results:
            lines += _section(titles.get(name, name), results[name])
        else:
            lines += kept[name]
    OUT.write_text("\n".join(lines).rstrip("\n") + "\n")
    print(f"wrote {OUT}")
    return 0 if all(r["ok"] for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
