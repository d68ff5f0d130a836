"""`ringfence clips view ID --player CMD`: the clip goes through a pipe into the
player, after the guard and the audit entry, and nowhere else.

Real processes on a real vault holding a real H.264 clip; the "player" is a
script that hashes what it reads on stdin and records its environment.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from demo import synth
from tests.plaintext import files_holding, view_roots
from tests.tools import cli_env, require_tool, run_cli

pytestmark = pytest.mark.skipif(
    "h264" not in synth.available_codecs(), reason="no H.264 encoder here"
)

HASHER = """
import hashlib, json, os, sys
data = sys.stdin.buffer.read()
record = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
          "secret_vars": sorted(k for k in os.environ if "PASSPHRASE" in k),
          "argv": sys.argv[2:]}
with open(sys.argv[1], "w") as f:
    json.dump(record, f)
"""

EARLY_QUIT = "import sys; sys.stdin.buffer.read(100)"


@pytest.fixture(scope="module")
def clip_data() -> bytes:
    """A 1280x720 H.264 clip, bigger than a pipe's buffer (made once: encoding takes a while)."""
    data = synth.clip_bytes(
        seconds=6, width=1280, height=720, fps=15, codec="h264", label="FRONT", seed=3
    )
    assert len(data) > 1 << 16
    return data


@pytest.fixture
def world(tmp_path: Path, clip_data: bytes) -> dict[str, Any]:
    """A vault with the clip sealed in it."""
    root, drop = tmp_path / "vault", tmp_path / "drop"
    drop.mkdir()
    run_cli(root, "init", "--kdf-log-n", "10")
    run_cli(root, "camera", "add", "front", str(drop), "--pattern", "front_%Y%m%d_%H%M%S")
    plaintext = clip_data
    (drop / "front_20261127_120000.mp4").write_bytes(plaintext)
    run_cli(root, "daemon", "--once")
    clip = json.loads(run_cli(root, "clips", "list", "--json").stdout)[0]
    assert clip["sha256"] == hashlib.sha256(plaintext).hexdigest()
    script = tmp_path / "hasher.py"
    script.write_text(HASHER)
    return {
        "root": root,
        "tmp": tmp_path,
        "clip": clip,
        "plaintext": plaintext,
        "hasher": f"{sys.executable} {script}",
        "started": time.time(),
    }


def _viewed(root: Path) -> list[dict[str, Any]]:
    entries = json.loads(run_cli(root, "audit", "show", "--json").stdout)
    return [e for e in entries if e["type"] == "clip.viewed"]


def test_view_pipes_the_clip_into_the_player_and_logs_it(world: dict[str, Any]) -> None:
    root, tmp, clip = world["root"], world["tmp"], world["clip"]
    record = tmp / "seen.json"
    res = run_cli(
        root,
        "clips",
        "view",
        clip["id"],
        "--reason",
        "checking the porch",
        "--player",
        f"{world['hasher']} {record} 'an argument'",
        env=cli_env(root, RINGFENCE_DEBUG_PASSPHRASE_COPY="x"),
    )
    seen = json.loads(record.read_text())
    assert seen["sha256"] == clip["sha256"] and seen["size"] == clip["size"]
    assert seen["argv"] == ["an argument"]  # split as a shell would, without a shell
    assert seen["secret_vars"] == []  # no passphrase variable reaches the player
    assert "playing" in res.stderr and clip["id"] in res.stderr
    viewed = _viewed(root)
    assert [e["subject"] for e in viewed] == [clip["id"]]
    assert viewed[0]["details"]["reason"] == "checking the porch"
    assert viewed[0]["details"]["via"] == "pipe"
    assert files_holding(world["plaintext"], view_roots(root, tmp), world["started"]) == []


def test_view_json_keeps_stdout_for_the_result(world: dict[str, Any]) -> None:
    root, clip = world["root"], world["clip"]
    res = run_cli(root, "clips", "view", clip["id"], "--json", "--player", "sha256sum")
    out = json.loads(res.stdout)
    assert out["sha256"] == clip["sha256"] and out["complete"] is True
    assert out["bytes_sent"] == clip["size"] and out["exit_code"] == 0
    assert clip["sha256"] in res.stderr  # the player's own output went to stderr


def test_a_player_that_stops_reading_ends_the_view_quietly(world: dict[str, Any]) -> None:
    root, clip = world["root"], world["clip"]
    res = run_cli(
        root,
        "clips",
        "view",
        clip["id"],
        "--json",
        "--player",
        f"{sys.executable} -c '{EARLY_QUIT}'",
    )
    out = json.loads(res.stdout)
    assert out["complete"] is False and out["sha256"] is None
    assert out["bytes_sent"] < clip["size"]
    assert "Traceback" not in res.stderr
    assert len(_viewed(root)) == 1  # it was still a view, and logged


def test_wrong_passphrase_shows_nothing_and_logs_nothing(world: dict[str, Any]) -> None:
    root, tmp, clip = world["root"], world["tmp"], world["clip"]
    record = tmp / "seen.json"
    res = run_cli(
        root,
        "clips",
        "view",
        clip["id"],
        "--player",
        f"{world['hasher']} {record}",
        passphrase="not the passphrase",
        check=False,
    )
    assert res.returncode == 4, res.stderr
    assert "wrong passphrase" in res.stderr and "Traceback" not in res.stderr
    assert not record.exists()  # the player never ran
    assert _viewed(root) == []


def test_a_shredded_clip_cannot_be_viewed(world: dict[str, Any]) -> None:
    root, tmp, clip = world["root"], world["tmp"], world["clip"]
    run_cli(root, "clips", "shred", clip["id"], "--reason", "gone")
    record = tmp / "seen.json"
    res = run_cli(
        root, "clips", "view", clip["id"], "--player", f"{world['hasher']} {record}", check=False
    )
    assert res.returncode == 7, res.stderr
    assert "shredded" in res.stderr and "Traceback" not in res.stderr
    assert not record.exists()
    assert _viewed(root) == []


def test_without_a_player_it_says_what_to_install(world: dict[str, Any]) -> None:
    root, tmp, clip = world["root"], world["tmp"], world["clip"]
    empty = tmp / "empty-bin"
    empty.mkdir()
    env = cli_env(root, PATH=str(empty))
    res = run_cli(root, "clips", "view", clip["id"], env=env, check=False)
    assert res.returncode == 2
    assert "mpv" in res.stderr and "--player" in res.stderr
    res = run_cli(root, "clips", "view", clip["id"], "--player", "no-such-player-here", check=False)
    assert res.returncode == 2 and "no such player" in res.stderr
    assert _viewed(root) == []


def test_the_default_player_is_the_first_one_installed(world: dict[str, Any]) -> None:
    """With no --player, mpv/ffplay/vlc are tried in turn: a fake ffplay on the PATH."""
    root, tmp, clip = world["root"], world["tmp"], world["clip"]
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    record = tmp / "seen.json"
    fake = bin_dir / "ffplay"
    fake.write_text(f'#!/bin/sh\nexec {world["hasher"]} {record} "$@"\n')
    fake.chmod(0o700)
    # Only the fake on the PATH (it needs nothing else), on a machine with a display.
    env = cli_env(root, PATH=str(bin_dir), DISPLAY=":0")
    env.pop("RINGFENCE_PLAYER", None)
    res = run_cli(root, "clips", "view", clip["id"], env=env)
    assert "ffplay -" in res.stderr
    seen = json.loads(record.read_text())
    assert seen["argv"] == ["-"] and seen["sha256"] == clip["sha256"]
    # Without a display, a windowed player is not started: the owner is told what to do.
    env.pop("DISPLAY")
    env.pop("WAYLAND_DISPLAY", None)
    record.unlink()
    res = run_cli(root, "clips", "view", clip["id"], env=env, check=False)
    assert res.returncode == 2 and "needs a display" in res.stderr and "--player" in res.stderr
    assert not record.exists() and len(_viewed(root)) == 1  # nothing played, nothing logged


def test_mpv_plays_a_clip_whose_index_is_at_its_end_from_the_pipe(world: dict[str, Any]) -> None:
    """Cameras write the MP4 index (moov) after the frames; a player reading a
    pipe must keep the whole clip to reach it and come back. The real mpv, given
    the buffer `clips view` sizes for it, decodes the clip to its end (exit 0);
    without it the same mpv fails on the same bytes (exit 2)."""
    mpv = require_tool("mpv")
    # Bigger than mpv's own 128 KiB buffer, as a camera's clips are.
    data = synth.clip_bytes(
        seconds=30, width=1280, height=720, fps=15, codec="h264", label="YARD", seed=9
    )
    assert len(data) > 2 * (128 << 10)
    assert data.find(b"moov") > data.find(b"mdat") > 0  # the index after the frames
    headless = [mpv, "--no-config", "--vo=null", "--ao=null", "--really-quiet", "-"]
    bare = subprocess.run(headless, input=data, capture_output=True, timeout=300)
    assert bare.returncode == 2  # the pipe alone does not do
    root = world["root"]
    (world["tmp"] / "drop" / "front_20261127_130000.mp4").write_bytes(data)
    run_cli(root, "daemon", "--once")
    sha = hashlib.sha256(data).hexdigest()
    (clip,) = [
        c for c in json.loads(run_cli(root, "clips", "list", "--json").stdout) if c["sha256"] == sha
    ]
    res = run_cli(root, "clips", "view", clip["id"], "--json", "--player", " ".join(headless))
    out = json.loads(res.stdout)
    assert out["player"][1].startswith("--stream-buffer-size=")
    assert out["exit_code"] == 0 and out["complete"] is True
    assert out["sha256"] == sha  # the bytes themselves are unchanged
