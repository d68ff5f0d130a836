"""Helpers shared by tests: system tools, passphrase env, running the CLI."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from vault.timeutil import utc_now

PASSPHRASE = "correct horse battery staple"


class SettableClock:
    """A vault clock a test can move: the real time until :meth:`set`."""

    def __init__(self, now: Callable[[], datetime] = utc_now) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now()

    def set(self, now: Callable[[], datetime]) -> None:
        self.now = now


def require_tool(name: str) -> str:
    """The path of a system tool; skip (or fail under CI) when it is missing."""
    path = shutil.which(name)
    if path is None:
        reason = f"the {name!r} binary is not installed (apt-get install {name})"
        if os.environ.get("RINGFENCE_REQUIRE_TOOLS") == "1":
            pytest.fail(f"{reason}, and RINGFENCE_REQUIRE_TOOLS=1 forbids skipping")
        pytest.skip(reason)
    return path


def require_reachable_by_others(*paths: Path | str) -> None:
    """Skip (or fail under CI) unless another user id can reach *paths*.

    Tests that run ringfence as other user ids start this checkout's Python
    on this checkout's code: every folder above them must let others pass
    (``o+x``). A checkout under a private folder (``mktemp -d``, a 0700
    home) cannot be used that way, and the reason names the folder.
    """
    for path in paths:
        for folder in Path(os.path.abspath(path)).parents:
            if not folder.stat().st_mode & 0o001:
                reason = (
                    f"{folder} does not let other users pass (mode "
                    f"{folder.stat().st_mode & 0o777:o}), so a process under another user id "
                    f"cannot reach {path}; run the suite from a checkout others can reach"
                )
                if os.environ.get("RINGFENCE_REQUIRE_TOOLS") == "1":
                    pytest.fail(f"{reason}, and RINGFENCE_REQUIRE_TOOLS=1 forbids skipping")
                pytest.skip(reason)


def require_module(name: str, install: str) -> Any:
    """An importable Python module; skip (or fail under CI) when it is missing.

    *install* says how to get it (``pip install 'ringfence[faces]'``).
    """
    try:
        return importlib.import_module(name)
    except ImportError:
        reason = f"the Python module {name!r} is not installed ({install})"
        if os.environ.get("RINGFENCE_REQUIRE_TOOLS") == "1":
            pytest.fail(f"{reason}, and RINGFENCE_REQUIRE_TOOLS=1 forbids skipping")
        pytest.skip(reason)


def cli_env(vault: Path, passphrase: str | None = PASSPHRASE, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RINGFENCE_")}
    env["RINGFENCE_VAULT"] = str(vault)
    env["RINGFENCE_LOG"] = "WARNING"
    if passphrase is not None:
        env["RINGFENCE_PASSPHRASE"] = passphrase
    env.update(extra)
    return env


def run_cli(
    vault: Path,
    *args: str,
    passphrase: str | None = PASSPHRASE,
    check: bool = True,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m vault ARGS` as a real process."""
    proc = subprocess.run(
        [sys.executable, "-m", "vault", *args],
        env=env or cli_env(vault, passphrase),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"ringfence {' '.join(args)} exited {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
        )
    return proc


def copy_vault(template: Path, dest: Path) -> Path:
    """A test's own copy of a vault a module built once (no process may have it open).

    The catalog's write-ahead log is folded into the file first, so the copy
    is one consistent SQLite database; camera folders keep their paths.
    """
    import sqlite3

    conn = sqlite3.connect(template / "catalog.db", isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    shutil.copytree(template, dest, symlinks=True)
    return dest


_SEARCH_CHILD = """
import json, sys
from pathlib import Path
request = json.loads(sys.stdin.read())
root = Path(request["root"])
needles = [bytes.fromhex(n) for n in request["needles"]]
files = [p for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()]
hits = [[] for _ in needles]
for path in files:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        continue
    for i, needle in enumerate(needles):
        if needle in data:
            hits[i].append(str(path.relative_to(root)))
print(json.dumps(hits))
"""


def files_with(root: Path, needles: list[bytes]) -> list[list[str]]:
    """For each of *needles*, every file under *root* whose bytes contain it.

    Searched by a child process: reading catalog.db or its -wal/-shm here would
    close descriptors of files this process's SQLite connections lock, and so
    drop those locks (see vault.keyscan)."""
    import json

    request = json.dumps({"root": str(root), "needles": [n.hex() for n in needles]})
    done = subprocess.run(
        [sys.executable, "-c", _SEARCH_CHILD],
        input=request,
        capture_output=True,
        text=True,
        check=True,
    )
    hits: list[list[str]] = json.loads(done.stdout)
    return hits
