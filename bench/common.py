"""Shared benchmark helpers: vaults, processes, percentiles, peak RSS."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PASSPHRASE = "bench passphrase"


def env_for(vault: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RINGFENCE_")}
    env.update(RINGFENCE_VAULT=str(vault), RINGFENCE_PASSPHRASE=PASSPHRASE, RINGFENCE_LOG="WARNING")
    return env


def ringfence(vault: Path, *args: str, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vault", *args],
        env=env_for(vault),
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout,
    )


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def timed_child(cmd: list[str], **kw: Any) -> tuple[float, int]:
    """Run *cmd*; return (wall seconds, peak RSS in bytes) of that child alone."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, **kw)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited {proc.returncode}")
    return wall, usage.ru_maxrss * 1024


def proc_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks
