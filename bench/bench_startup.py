"""Command start-up: how long `ringfence --help` and `ringfence status --json` take.

Each command runs as its own child process from the same venv, alternating
with the reference, `python -c pass` (the interpreter's own start-up), so both
see the same machine load. The figures are median wall times and their ratio
to the reference. Goals: `--help` within 6x of bare Python start-up (it loads
no database, UI or crypto library), `status --json` within 15x (it opens the
catalog of a real vault with 20 cameras). `import sqlmodel` alone is timed the
same way: it is the floor under every command that reads the catalog.

Run: python -m bench.bench_startup [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import env_for, ringfence, timed_child

GOALS = {"help": 6.0, "status": 15.0}


def _command() -> list[str]:
    """The installed `ringfence` script beside this interpreter, else `python -m vault`."""
    script = Path(sys.executable).with_name("ringfence")
    return [str(script)] if script.exists() else [sys.executable, "-m", "vault"]


def main(quick: bool = False) -> dict[str, Any]:
    repeat = 7 if quick else 31
    with tempfile.TemporaryDirectory(prefix="ringfence-bench-startup-") as tmp:
        vault = Path(tmp) / "vault"
        ringfence(vault, "init", "--kdf-log-n", "10")
        for i in range(20):
            ringfence(vault, "camera", "add", f"cam{i}", str(Path(tmp) / "drop" / f"cam{i}"))
        env = env_for(vault)
        quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        runs: dict[str, list[float]] = {"python": [], "help": [], "status": [], "sqlmodel": []}
        cmd = _command()
        commands = {
            "python": [sys.executable, "-c", "pass"],
            "help": [*cmd, "--help"],
            "status": [*cmd, "status", "--json"],
            # What any command that opens the catalog pays before its first query.
            "sqlmodel": [sys.executable, "-c", "import sqlmodel"],
        }
        for name in commands:  # warm the page cache and the bytecode cache once
            timed_child(commands[name], **quiet)
        for _ in range(repeat):
            for name, argv in commands.items():
                runs[name].append(timed_child(argv, **quiet)[0])
    med = {name: statistics.median(values) for name, values in runs.items()}
    result: dict[str, Any] = {
        "repeat": repeat,
        "method": "each command a child process, interleaved with `python -c pass` from the "
        "same venv; median wall time",
        "command": " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd)),
        "python_c_pass_ms": med["python"] * 1000,
        "help_ms": med["help"] * 1000,
        "status_json_ms": med["status"] * 1000,
        "import_sqlmodel_ms": med["sqlmodel"] * 1000,
        "import_sqlmodel_ratio": med["sqlmodel"] / med["python"],
    }
    for name in ("help", "status"):
        ratio = med[name] / med["python"]
        result[f"{name}_ratio"] = ratio
        result[f"{name}_goal"] = (
            f"<= {GOALS[name]:g}x: {'met' if ratio <= GOALS[name] else 'MISSED'}"
        )
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    for key, value in main(ap.parse_args().quick).items():
        print(f"{key}: {value}")
