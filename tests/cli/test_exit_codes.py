"""One walk through docs/cli.md's exit-code table: each code, reached the way a user reaches it.

Every case is a real command in a real process on a real vault. The table is
read from docs/cli.md, so a code documented but never produced (or produced
but not documented) fails here.
"""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.tools import cli_env, run_cli
from vault import errors

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
REQUEST = [
    "--requester",
    "A",
    "--org",
    "B",
    "--kind",
    "police",
    "--basis",
    "warrant",
    "--reason",
    "r",
    "--camera",
    "front",
    "--from",
    "2026-11-27",
    "--to",
    "2026-11-28",
]


def documented_codes() -> set[int]:
    text = DOCS.read_text()
    table = text[text.index("## Exit codes") :]
    table = table[: table.index("\n## ", 3)]
    return {int(m) for m in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)}


@pytest.fixture
def world(tmp_path: Path) -> dict[str, object]:
    """A vault with camera `front` holding one clip, and a pending request."""
    root, drop = tmp_path / "vault", tmp_path / "drop"
    drop.mkdir()
    run_cli(root, "init", "--kdf-log-n", "10")
    run_cli(root, "camera", "add", "front", str(drop), "--pattern", "front_%Y%m%d_%H%M%S")
    (drop / "front_20261127_120000.mp4").write_bytes(b"clip" * 1000)
    run_cli(root, "daemon", "--once")
    clip = json.loads(run_cli(root, "clips", "list", "--json").stdout)[0]["id"]
    rid = run_cli(root, "request", "add", *REQUEST).stdout.strip()
    return {"root": root, "tmp": tmp_path, "clip": clip, "rid": rid}


def _wait_for(what: str, ok: Callable[[], bool], deadline: float = 120) -> None:
    end = time.monotonic() + deadline
    while not ok():
        if time.monotonic() > end:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


def _ctrl_c_as_at_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _children(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return []


def test_every_documented_exit_code(world: dict[str, object]) -> None:
    root, tmp = Path(str(world["root"])), Path(str(world["tmp"]))
    clip, rid = str(world["clip"]), str(world["rid"])
    seen: dict[int, str] = {}

    def expect(code: int, *args: str, message: str = "", **kw: object) -> None:
        res = run_cli(root, *args, check=False, **kw)  # type: ignore[arg-type]
        assert res.returncode == code, (args, res.returncode, res.stderr)
        assert message in res.stderr and "Traceback" not in res.stderr, (args, res.stderr)
        seen[code] = " ".join(args)

    expect(0, "status")
    expect(2, "status", "--no-such-option")
    expect(
        2,
        "hold",
        "add",
        "--camera",
        "front",
        "--from",
        "2026-11-28",
        "--to",
        "2026-11-27",
        "--reason",
        "r",
    )
    # 3: something named does not exist, whatever names it.
    expect(3, "request", "show", "req_nope", message="no request")
    expect(3, "clips", "show", "clp_nope")
    expect(
        3,
        "request",
        "add",
        *REQUEST[:-6],
        "--camera",
        "nope",
        "--from",
        "2026-11-27",
        "--to",
        "2026-11-28",
        message="no camera named 'nope'",
    )
    expect(
        3, "request", "add", *REQUEST, "--attach", str(tmp / "missing.pdf"), message="no such file"
    )
    expect(3, "request", "import", str(tmp / "missing.toml"), message="no such file")
    expect(
        3,
        "approve",
        rid,
        "--reason",
        "x",
        "--exclude-clip",
        "clp_unknown",
        message="no clip 'clp_unknown'",
    )
    expect(
        3,
        "hold",
        "add",
        "--camera",
        "nope",
        "--from",
        "2026-11-27",
        "--to",
        "2026-11-28",
        "--reason",
        "r",
    )
    expect(4, "approve", rid, "--reason", "x", passphrase="wrong passphrase")
    expect(7, "export", rid, "--out", str(tmp / "early"), message="pending")
    expect(10, "clips", "export-age", clip, "-o", "/proc/ringfence-cannot-write-here.age")
    expect(11, "init", "--kdf-log-n", "10", message="already a ringfence vault")
    expect(9, "--vault", str(tmp / "no-vault-here"), "status", message="no vault")

    # 8: another daemon holds the vault.
    daemon = subprocess.Popen(
        [sys.executable, "-m", "vault", "daemon"],
        env=cli_env(root),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(
            "the daemon to hold the vault",
            lambda: json.loads(run_cli(root, "status", "--json").stdout)["daemon"]["running"],
        )
        expect(8, "daemon", "--once")
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=120) == 0

    # 130: Ctrl-C while the passphrase command is still running.
    env = cli_env(root, passphrase=None, RINGFENCE_PASSPHRASE_COMMAND="sleep 600")
    # As at a terminal, SIGINT is not ignored: a test run started in the
    # background by a shell inherits SIGINT ignored, and Python then never
    # turns it into KeyboardInterrupt.
    proc = subprocess.Popen(
        [sys.executable, "-m", "vault", "approve", rid, "--reason", "x"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ctrl_c_as_at_a_terminal,
    )
    _wait_for("the passphrase command to start", lambda: bool(_children(proc.pid)))
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and err.splitlines() == ["ringfence: interrupted"], err
    seen[130] = "approve (Ctrl-C)"

    # 6 and 5 change the vault, so they come last: a tampered log, then a damaged key file.
    conn = sqlite3.connect(root / "catalog.db", isolation_level=None)
    conn.execute(
        "UPDATE audit_entry SET entry = CAST(REPLACE(CAST(entry AS TEXT), "
        '\'"actor":"owner"\', \'"actor":"other"\') AS BLOB) WHERE idx = 0'
    )
    conn.close()
    expect(6, "audit", "verify")
    key = root / "keys" / "owner.age"
    damaged = bytearray(key.read_bytes())
    damaged[-5] ^= 1
    key.write_bytes(bytes(damaged))
    new = tmp / "new-passphrase"
    new.write_text("a new passphrase\n")
    expect(5, "key", "passwd", "--new-passphrase-file", str(new), message="payload")

    # 1 is the base of the hierarchy: no command ends with it on purpose today.
    assert errors.RingfenceError.exit_code == 1
    assert documented_codes() == set(seen) | {1}
    codes = {cls.exit_code for cls in _subclasses(errors.RingfenceError)}
    assert codes <= documented_codes()


def _subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub} | _subclasses(sub)
    return out
