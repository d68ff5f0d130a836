"""Secrets stay in the process, and what a kill leaves behind is cleared.

The attacker here is another process of the same user, or whoever later
reads a core file, a child's environment, the disk or the catalog's
write-ahead log. Each test runs the real thing in a real process: an unlocked
vault, a player that prints its environment, `key passwd` and a shred killed
with SIGKILL.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import FAST_LOG_N
from tests.requests.test_service import ingest
from tests.retention.conftest import files_containing, headers
from tests.tools import PASSPHRASE, cli_env, run_cli
from vault.config import Layout
from vault.errors import PassphraseError
from vault.hardening import child_env
from vault.keys import PASSWD_LOCK, unlock
from vault.service import Vault
from vault.viewer import PlayerProcess

DEADLINE = 120
NEW = "a different, longer passphrase"
SECRET_ENV = {
    "RINGFENCE_PASSPHRASE": "hunter2-main",
    "RINGFENCE_PASSPHRASE_FILE": "/run/secret/main",
    "RINGFENCE_NEW_PASSPHRASE": "hunter2-new",
    "RINGFENCE_NEW_PASSPHRASE_FILE": "/run/secret/new",
    "RINGFENCE_NEW_PASSPHRASE_COMMAND": "cat /run/secret/new",
    "backup_passphrase": "hunter2-lower",
}


def python(
    code: str, *args: str, env: dict[str, str] | None = None, stdin: int | None = subprocess.DEVNULL
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        stdin=stdin,
        env=env or dict(os.environ),
    )


# --- core dumps --------------------------------------------------------------------------------

UNLOCKED = """
import ctypes, json, resource, sys
from pathlib import Path
from vault.service import Vault
from vault.viewer import PlayerProcess

def state():
    return {"core": list(resource.getrlimit(resource.RLIMIT_CORE)),
            "dumpable": ctypes.CDLL(None).prctl(3, 0, 0, 0, 0)}  # PR_GET_DUMPABLE

# As high as allowed (a parent that unlocked earlier may have lowered the hard limit).
hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
before = state()
vault = Vault.open(Path(sys.argv[1]))
opened = state()
vault.unlock(sys.argv[2])
print(json.dumps({"before": before, "opened": opened, "unlocked": state()}), flush=True)
sys.stdin.readline()  # stay unlocked while the test reads /proc/<pid>/limits
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl and /proc are Linux")
def test_an_unlocked_process_can_leave_no_core_dump(vault: Vault) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", UNLOCKED, str(vault.root), PASSPHRASE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        seen = json.loads(proc.stdout.readline() or "null")
        assert seen is not None, proc.stderr.read() if proc.stderr else ""
        limits = Path(f"/proc/{proc.pid}/limits").read_text()
        proc.stdin.write("\n")
        proc.stdin.close()
        assert proc.wait(timeout=DEADLINE) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert seen["before"]["dumpable"] == 1  # a fresh process could dump (exec resets the flag)
    assert seen["opened"]["dumpable"] == 1  # opening needs no secret, and changes nothing
    assert seen["unlocked"] == {"core": [0, 0], "dumpable": 0}
    [core] = [line for line in limits.splitlines() if line.startswith("Max core file size")]
    assert core.split()[4:6] == ["0", "0"]


TUI_UNLOCK = """
import asyncio, ctypes, json, resource, sys
from pathlib import Path
from textual.widgets import Input
from tui.app import RingfenceApp
from tui.screens.passphrase import PassphraseScreen
from vault.service import Vault
from vault.viewer import PlayerProcess

def dumpable():
    return [resource.getrlimit(resource.RLIMIT_CORE)[0] != 0,
            bool(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))]

async def main():
    vault = Vault.open(Path(sys.argv[1]))
    app = RingfenceApp(vault, export_dir=Path(sys.argv[3]), status_seconds=0)
    async with app.run_test() as pilot:
        before = dumpable()
        app.push_screen(PassphraseScreen())
        await pilot.pause()
        app.screen.query_one(Input).value = sys.argv[2]
        await pilot.press("enter")
        for _ in range(2000):
            if vault.unlocked:
                break
            await pilot.pause(0.05)
        print(json.dumps({"before": before, "unlocked": vault.unlocked, "after": dumpable()}))

hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
asyncio.run(main())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux")
def test_the_terminal_app_forbids_core_dumps_when_it_unlocks(vault: Vault, tmp_path: Path) -> None:
    proc = python(TUI_UNLOCK, str(vault.root), PASSPHRASE, str(tmp_path / "exports"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["before"][1] is True  # dumpable before the owner typed the passphrase
    assert seen["unlocked"] is True and seen["after"] == [False, False]


def test_a_cli_that_asks_for_the_passphrase_forbids_core_dumps_first(
    vault: Vault, tmp_path: Path
) -> None:
    """The passphrase command runs while the CLI waits: it reads its parent's limits."""
    spy = tmp_path / "ask.sh"
    spy.write_text(
        f"#!/bin/sh\ncat /proc/$PPID/limits > {tmp_path / 'limits'}\nprintf '%s' '{PASSPHRASE}'\n"
    )
    spy.chmod(0o700)
    env = cli_env(vault.root, None, RINGFENCE_PASSPHRASE_COMMAND=str(spy))
    run_cli(vault.root, "key", "passwd", env={**env, "RINGFENCE_NEW_PASSPHRASE": NEW})
    core = [
        line
        for line in (tmp_path / "limits").read_text().splitlines()
        if line.startswith("Max core file size")
    ]
    assert core and core[0].split()[4:6] == ["0", "0"]


# --- child environments ---------------------------------------------------------------------


def secret_names(env_dump: str) -> list[str]:
    names = [line.split("=", 1)[0] for line in env_dump.splitlines() if "=" in line]
    return [n for n in names if "PASSPHRASE" in n.upper()]


def test_the_player_gets_no_passphrase_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    player = tmp_path / "player.sh"
    seen = tmp_path / "env.txt"
    player.write_text(f"#!/bin/sh\nenv > {seen}\n")
    player.chmod(0o700)
    played = PlayerProcess([str(player)]).feed(lambda sink: (sink.write(b"clip"), None)[1])
    assert played.exit_code == 0
    dump = seen.read_text()
    assert "PATH=" in dump
    assert secret_names(dump) == []
    assert not any(value in dump for value in SECRET_ENV.values())


def test_the_passphrase_command_gets_no_passphrase_variable(vault: Vault, tmp_path: Path) -> None:
    """`key passwd` holds the old passphrase and the new one's variables while its
    passphrase command runs: the command sees neither."""
    dump = tmp_path / "env.txt"
    ask = tmp_path / "ask.sh"
    ask.write_text(f"#!/bin/sh\nenv > {dump}\nprintf '%s' '{PASSPHRASE}'\n")
    ask.chmod(0o700)
    env = cli_env(
        vault.root,
        None,
        RINGFENCE_PASSPHRASE_COMMAND=str(ask),
        RINGFENCE_NEW_PASSPHRASE=NEW,
        backup_passphrase="hunter2-lower",
    )
    run_cli(vault.root, "key", "passwd", env=env)
    text = dump.read_text()
    assert "PATH=" in text and secret_names(text) == []
    assert NEW not in text and "hunter2-lower" not in text
    unlock(vault.layout, NEW)  # and the change itself went through


def test_child_env_drops_every_passphrase_name() -> None:
    base = {"PATH": "/bin", "HOME": "/h", **SECRET_ENV, "XPASSPHRASEY": "x"}
    assert child_env(base) == {"PATH": "/bin", "HOME": "/h"}


# --- a killed `key passwd` ------------------------------------------------------------------------

KILLED_PASSWD = """
import os, signal, sys
from pathlib import Path
from vault.config import Layout
from vault.keys import change_passphrase

# Die (SIGKILL) just before the k-th fsync or rename of the change: every
# step boundary of the write-temp, fsync, rename sequence is reached once.
kill_at, calls = int(sys.argv[2]), [0]
def step(real):
    def wrapped(*args, **kwargs):
        calls[0] += 1
        if calls[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    return wrapped
os.fsync, os.replace = step(os.fsync), step(os.replace)
change_passphrase(Layout(Path(sys.argv[1])), sys.argv[3], sys.argv[4], 10)
print(calls[0])
"""


def key_folder(layout: Layout) -> list[str]:
    """The key folder's files, without the passwd lock (it stays, empty, by design)."""
    return sorted(p.name for p in layout.keys.iterdir() if p.name != PASSWD_LOCK)


def opens_with(layout: Layout, passphrase: str) -> bool:
    try:
        unlock(layout, passphrase)
    except PassphraseError:
        return False
    return True


def test_a_passwd_killed_at_any_step_leaves_no_temporary_key_file(tmp_path: Path) -> None:
    pristine = tmp_path / "pristine"
    Vault.init(pristine, PASSPHRASE, log_n=FAST_LOG_N).close()
    whole = python(
        KILLED_PASSWD, str(shutil.copytree(pristine, tmp_path / "whole")), "0", PASSPHRASE, NEW
    )
    assert whole.returncode == 0, whole.stderr
    steps = int(whole.stdout)
    assert steps >= 6  # two temp files, fsynced and renamed, then both renamed into place
    original = key_folder(Layout(pristine))
    temps_seen = 0
    for k in range(1, steps + 1):
        root = shutil.copytree(pristine, tmp_path / f"killed-{k}")
        layout = Layout(root)
        killed = python(KILLED_PASSWD, str(root), str(k), PASSPHRASE, NEW)
        assert killed.returncode == -signal.SIGKILL, (k, killed.stderr)
        temps_seen += any(n.endswith(".tmp") for n in key_folder(layout))
        # The next start (any command, no passphrase) clears temporary files.
        run_cli(root, "key", "show", passphrase=None)
        assert not any(n.endswith(".tmp") for n in key_folder(layout)), (k, key_folder(layout))
        # Exactly one passphrase opens both keys, and unlocking with it tidies the rest.
        old_ok = opens_with(layout, PASSPHRASE)
        new_ok = opens_with(layout, NEW)
        assert old_ok != new_ok, (k, old_ok, new_ok)
        assert key_folder(layout) == original, (k, key_folder(layout))
    assert temps_seen > 0  # the kills did land while a temporary file existed


def test_a_start_never_sweeps_the_files_of_a_passwd_that_is_running(tmp_path: Path) -> None:
    from vault.keys import sweep_key_temps

    root = tmp_path / "vault"
    Vault.init(root, PASSPHRASE, log_n=FAST_LOG_N).close()
    layout = Layout(root)
    temp = layout.keys / ".owner.age.next.0123456789ab.tmp"
    temp.write_bytes(b"being written")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600); "
            "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.readline()",
            str(layout.keys / PASSWD_LOCK),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert sweep_key_temps(layout) == [] and temp.exists()
    finally:
        holder.kill()
        holder.wait()
    assert sweep_key_temps(layout) == [temp.name] and not temp.exists()


# --- a shred killed before its WAL was truncated -------------------------------------------------

KILLED_SHRED = """
import os, signal, sys
from pathlib import Path
from vault.service import Vault
from vault.viewer import PlayerProcess

vault = Vault.open(Path(sys.argv[1]))
def killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)  # the shred has committed; nothing after it runs
vault.retention._finish_shredding = killed
vault.retention.shred(sys.argv[2], "gone")
"""


#: Another process with the catalog open, as the daemon always has: while it
#: does, no other process's exit is the last close that would remove the WAL.
DAEMON_LIKE = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("SELECT count(*) FROM sqlite_master").fetchone()
print("open", flush=True)
sys.stdin.readline()
"""


def test_a_shredded_header_does_not_outlive_a_kill_in_the_wal(vault: Vault, camera: Path) -> None:
    ingest(vault, camera, 2)
    clip_id, kept = sorted(headers(vault))
    header = headers(vault)[clip_id]
    vault.close()
    holder = subprocess.Popen(
        [sys.executable, "-c", DAEMON_LIKE, str(vault.layout.catalog)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        killed = python(KILLED_SHRED, str(vault.root), clip_id)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        # The attack's premise: the commit went to the WAL only, so the page
        # image with the header is still in a catalog file (catalog.db).
        assert files_containing(vault.root, header) != []
        run_cli(vault.root, "clips", "list", passphrase=None)  # the next start
        assert files_containing(vault.root, header) == []
        assert (vault.root / "catalog.db-wal").stat().st_size == 0
    finally:
        holder.kill()
        holder.wait()
    assert files_containing(vault.root, headers(vault)[kept]) == ["catalog.db"]


def test_after_a_shred_the_wal_does_not_hold_the_header(vault: Vault, camera: Path) -> None:
    ingest(vault, camera, 1)
    [(clip_id, header)] = headers(vault).items()
    vault.retention.shred(clip_id, "gone")
    wal = vault.root / "catalog.db-wal"
    assert not wal.exists() or header not in wal.read_bytes()
    assert files_containing(vault.root, header) == []


READER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN")
db.execute("SELECT count(*) FROM clip").fetchone()  # a snapshot that pins the WAL
print("reading", flush=True)
sys.stdin.readline()
"""


def test_a_catalog_pinned_by_a_long_reader_still_opens(vault: Vault, camera: Path) -> None:
    """The truncation at open is best effort: a reader only defers it."""
    ingest(vault, camera, 1)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(vault.layout.catalog)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "reading"
        (camera / "later.mp4").write_bytes(os.urandom(5000))
        ingest(vault, camera, 0)  # a commit after the reader's snapshot: the WAL is pinned
        again = Vault.open(vault.root)
        assert len(again.clips.all()) == 2
        again.close()
    finally:
        reader.kill()
        reader.wait()
