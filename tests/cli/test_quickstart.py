"""`make run` / `quickstart` as README.md describes them, with real daemons and real files.

The daemons run as their own process groups and are stopped with SIGTERM;
every wait polls for a condition (a log line, a sealed clip) with a generous
deadline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.tools import PASSPHRASE, cli_env, run_cli

ROOT = Path(__file__).resolve().parents[2]


class Running:
    """A process started in its own session, its stderr in a file."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as err:
            self.proc = subprocess.Popen(
                argv,
                env=env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        return self.proc.wait(timeout=120)


def wait_for(what: str, ok: Callable[[], bool], deadline: float = 180) -> None:
    end = time.monotonic() + deadline
    while not ok():
        if time.monotonic() > end:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def running() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for r in started:
        r.stop()


def _clips(env: dict[str, str]) -> list[dict[str, object]]:
    res = subprocess.run(
        [sys.executable, "-m", "vault", "clips", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(res.stdout)  # type: ignore[no-any-return]


def test_a_new_drop_folder_on_an_existing_vault_is_watched(
    tmp_path: Path, running: list[Running]
) -> None:
    vault, first, second = tmp_path / "vault", tmp_path / "first", tmp_path / "second"
    run_cli(vault, "init", "--kdf-log-n", "10")
    env = cli_env(vault, RINGFENCE_LOG="INFO")
    qs = [sys.executable, "-m", "vault", "quickstart"]
    one = Running([*qs, "--drop", str(first)], env, tmp_path / "one.log")
    running.append(one)
    wait_for("the daemon to watch the first folder", lambda: "watching" in one.text())
    assert one.stop() == 0
    two = Running([*qs, "--drop", str(second)], env, tmp_path / "two.log")
    running.append(two)
    wait_for("the daemon to watch the second folder", lambda: "watching" in two.text())
    assert (
        two.text().count(f"the default camera's drop folder changes from {first} to {second}") == 1
    )
    (second / "clip.mp4").write_bytes(b"a clip" * 1000)
    wait_for("the clip in the new folder to be sealed", lambda: len(_clips(env)) == 1)
    # The catalog row commits before the plaintext is removed: wait for both.
    wait_for("the plaintext to be removed", lambda: not (second / "clip.mp4").exists())
    assert run_cli(vault, "camera", "list", "--json").stdout.count(str(second)) == 1
    assert str(first) not in run_cli(vault, "camera", "list", "--json").stdout
    changed = [
        e
        for e in json.loads(run_cli(vault, "audit", "show", "--json").stdout)
        if e["type"] == "camera.changed"
    ]
    assert changed[-1]["details"] == {"folders": [str(second)], "previous_folders": [str(first)]}
    assert two.stop() == 0
    # Without DROP= the folder stays as it is.
    three = Running(qs, env, tmp_path / "three.log")
    running.append(three)
    wait_for("the daemon to start again", lambda: "watching" in three.text())
    assert "changes from" not in three.text() and f"drop clips into: {second}" in three.text()


def test_make_run_uses_the_default_vault_and_names_the_old_one(
    tmp_path: Path, running: list[Running]
) -> None:
    old = tmp_path / "checkout-vault"
    old.mkdir()
    (old / "config.toml").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RINGFENCE_", "MAKE"))}
    env.update(
        XDG_DATA_HOME=str(tmp_path / "data"),
        HOME=str(tmp_path / "home"),
        RINGFENCE_PASSPHRASE=PASSPHRASE,
        RINGFENCE_LOG="INFO",
    )
    run = Running(
        ["make", "--no-print-directory", "-s", "run", f"OLD_VAULT={old}", f"PY={sys.executable}"],
        env,
        tmp_path / "make.log",
    )
    running.append(run)
    wait_for("make run to start the daemon", lambda: "watching" in run.text(), deadline=300)
    text = run.text()
    assert f"make run VAULT={old}" in text and f"RINGFENCE_VAULT={old}" in text
    vault = tmp_path / "data" / "ringfence" / "vault"
    drop = tmp_path / "data" / "ringfence" / "drop"
    assert f"vault:       {vault}" in text and f"drop clips into: {drop}" in text
    # A bare `ringfence` in another shell (no --vault, no RINGFENCE_VAULT) finds it.
    status = subprocess.run(
        [sys.executable, "-m", "vault", "status", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    shown = json.loads(status.stdout)
    assert shown["vault"] == str(vault) and shown["daemon"]["running"] is True
