"""The two-user deployment: the daemon runs as its own system user.

Real processes under two numeric user ids that share one group (setpriv, as
root): the owner creates the vault with `init --group`, the daemon's user
seals a clip from the drop folder, the owner decides and exports it. Then the
daemon's user tries what an attacker who broke into it would: change the
owner's keys or configuration, read the owner's key files, reach the owner's
newest signed checkpoint, and cut the log back. Only the cut is possible, and
the owner's `audit verify` reports it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tools import PASSPHRASE, require_reachable_by_others, require_tool

OWNER, DAEMON, GROUP = 40001, 40002, 40000

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run as two users")


@pytest.fixture
def base() -> Iterator[Path]:
    """A folder both users can reach (pytest's own tmp folders are root's alone)."""
    require_tool("setpriv")
    require_reachable_by_others(sys.executable, Path(__file__).resolve().parents[2] / "vault")
    path = Path(tempfile.mkdtemp(prefix="rf-two-users-", dir="/tmp"))
    path.chmod(0o755)
    for name, uid, mode in (
        ("owner", OWNER, 0o700),
        ("daemon", DAEMON, 0o700),
        ("drop", DAEMON, 0o2770),
    ):
        (path / name).mkdir()
        os.chown(path / name, uid, GROUP)
        (path / name).chmod(mode)
    os.chown(path, OWNER, GROUP)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _env(base: Path, who: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RINGFENCE_") and k not in ("XDG_CONFIG_HOME", "HOME")
    }
    env.update(
        HOME=str(base / who),
        XDG_CONFIG_HOME=str(base / who / ".config"),
        RINGFENCE_VAULT=str(base / "vault"),
        RINGFENCE_LOG="WARNING",
        PYTHONDONTWRITEBYTECODE="1",
    )
    if who == "owner":
        env["RINGFENCE_PASSPHRASE"] = PASSPHRASE
    return env


def _as(uid: int, base: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    who = "owner" if uid == OWNER else "daemon"
    return subprocess.run(
        [
            "setpriv",
            f"--reuid={uid}",
            f"--regid={GROUP}",
            f"--groups={GROUP}",
            "--",
            sys.executable,
            *argv,
        ],
        env=_env(base, who),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        cwd=base / who,
    )


def _cli(uid: int, base: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _as(uid, base, "-m", "vault", *args)


def _ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


ATTEMPTS = r"""
import json, os, sys
vault, owner_home = sys.argv[1], sys.argv[2]
tries = {
    "append to config.toml": lambda: open(f"{vault}/config.toml", "ab"),
    "read the owner's identity": lambda: open(f"{vault}/keys/owner.age", "rb").read(),
    "read the owner's signing key": lambda: open(f"{vault}/keys/signing.age", "rb").read(),
    "add a file to keys/": lambda: open(f"{vault}/keys/planted", "xb"),
    "replace the owner's signing key": lambda: os.replace(f"{vault}/config.toml",
                                                          f"{vault}/keys/signing.age"),
    "list the owner's configuration": lambda: os.listdir(f"{owner_home}/.config"),
}
out = {}
for name, attempt in tries.items():
    try:
        attempt()
        out[name] = "done"
    except PermissionError:
        out[name] = "denied"
print(json.dumps(out))
"""

CUT = r"""
import sqlite3, sys
vault = sys.argv[1]
db = sqlite3.connect(f"{vault}/catalog.db")
with db:
    size, note = db.execute(
        "SELECT size, note FROM checkpoint ORDER BY id LIMIT 1 OFFSET 1").fetchone()
    db.execute("DELETE FROM audit_entry WHERE idx >= ?", (size,))
    db.execute("DELETE FROM audit_node WHERE (pos + 1) * (1 << level) > ?", (size,))
    db.execute("DELETE FROM checkpoint WHERE size > ?", (size,))
db.close()
tmp = f"{vault}/.cut"
open(tmp, "w").write(note)
import os
os.replace(tmp, f"{vault}/checkpoint.note")
print(size)
"""


def test_owner_and_daemon_share_a_vault_and_the_daemon_cannot_take_over(base: Path) -> None:
    vault, drop = base / "vault", base / "drop"
    _ok(_cli(OWNER, base, "init", "--group", str(GROUP), "--kdf-log-n", "10"))
    assert vault.stat().st_gid == GROUP and vault.stat().st_mode & 0o7777 == 0o2770
    _ok(_cli(OWNER, base, "camera", "add", "front", str(drop)))

    clip = drop / "front_1.mp4"
    data = os.urandom(70_000)
    clip.write_bytes(data)
    os.chown(clip, DAEMON, GROUP)
    _ok(_cli(DAEMON, base, "daemon", "--once"))
    assert not clip.exists()

    [row] = json.loads(_ok(_cli(OWNER, base, "clips", "list", "--json")))
    rid = json.loads(
        _ok(
            _cli(
                OWNER,
                base,
                "request",
                "add",
                "--requester",
                "DC Smith",
                "--org",
                "Met",
                "--kind",
                "police",
                "--basis",
                "warrant",
                "--reason",
                "burglary",
                "--camera",
                "front",
                "--from",
                "2000-01-01T00:00Z",
                "--to",
                "2100-01-01T00:00Z",
                "--json",
            )
        )
    )["id"]
    _ok(_cli(OWNER, base, "approve", rid, "--reason", "warrant checked"))
    out = base / "owner" / "handover"
    _ok(_cli(OWNER, base, "export", rid, "--out", str(out)))
    [delivered] = [p for p in (out / "clips").rglob("*") if p.is_file()]
    assert delivered.read_bytes() == data
    assert row["id"] in delivered.name
    # The daemon keeps running on the owner's changes: a second pass is clean.
    _ok(_cli(DAEMON, base, "daemon", "--once"))

    attempts = json.loads(_ok(_as(DAEMON, base, "-c", ATTEMPTS, str(vault), str(base / "owner"))))
    assert len(attempts) == 6 and set(attempts.values()) == {"denied"}, attempts

    cut_to = int(_ok(_as(DAEMON, base, "-c", CUT, str(vault))))
    assert cut_to > 0
    verify = _cli(OWNER, base, "audit", "verify")
    assert verify.returncode == 6, verify.stdout + verify.stderr
    assert "cut back" in verify.stdout + verify.stderr
    # The daemon's own view has no head to compare with: only the owner can tell.
    assert _cli(DAEMON, base, "audit", "verify").returncode == 0
