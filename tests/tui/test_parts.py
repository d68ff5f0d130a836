"""The app's small pure parts: formatting, selection, the player, the keymap, commands."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.tui.helpers import NOW, STATUS_DOWN, STATUS_UP
from tui.format import duration, relative, short_time, truncate
from tui.keymap import declared_bindings, known_binding_ids
from tui.selection import Selection
from tui.widgets.status_bar import status_line
from vault.errors import UsageError
from vault.viewer import PlayerProcess, find_player, sized_for

DOCS = Path(__file__).resolve().parents[2] / "docs" / "tui.md"


def test_relative_times() -> None:
    assert relative(NOW + timedelta(seconds=30), NOW) == "now"
    assert relative(NOW + timedelta(minutes=5), NOW) == "in 5 min"
    assert relative(NOW - timedelta(hours=30), NOW) == "30 h ago"
    assert relative(NOW + timedelta(days=5, hours=1), NOW) == "in 5 d"
    assert relative(None, NOW) == "-"


def test_short_formats() -> None:
    assert short_time(datetime(2026, 11, 28, 14, 5, 59, tzinfo=UTC)) == "2026-11-28 14:05"
    assert duration(2.04) == "2.0 s" and duration(125) == "2:05 min" and duration(None) == "-"
    assert truncate("a  b\nc", 10) == "a b c"
    assert truncate("abcdefghijk", 5) == "abcd…"


def test_selection_all_but_some() -> None:
    sel = Selection()
    assert sel.is_all() and "c1" in sel
    assert sel.toggle("c1") is False
    assert sel.chosen(["c1", "c2", "c3"]) == ["c2", "c3"]
    assert sel.decide_args() == {"clips": None, "exclude": ["c1"]}
    assert sel.toggle("c1") is True
    assert sel.decide_args() == {"clips": None, "exclude": None}


def test_selection_only_some() -> None:
    sel = Selection()
    sel.select_none()
    assert sel.is_none() and "c1" not in sel
    sel.toggle("c2")
    sel.toggle("c1")
    assert sel.decide_args() == {"clips": ["c1", "c2"], "exclude": None}
    sel.select_all()
    assert sel.is_all()


def test_status_line_drops_the_least_important_parts_when_narrow() -> None:
    wide = status_line(STATUS_UP, False, NOW, width=200).plain
    assert wide == (
        "● daemon up │ last clip 5 min ago │ 0 waiting │ 5.0 MiB stored │ 40.0 GiB free │ locked"
    )
    narrow = status_line(STATUS_UP, True, NOW, width=60).plain
    assert narrow == "● daemon up │ last clip 5 min ago │ 0 waiting │ unlocked"
    down = status_line(STATUS_DOWN, False, NOW, width=78).plain
    assert down.startswith("○ daemon DOWN") and "3 waiting" in down
    low = status_line(replace(STATUS_UP, low_disk=True), False, NOW, width=70).plain
    assert "free LOW" in low
    assert status_line(None, False, NOW).plain == "checking the vault… │ locked"


def test_find_player_prefers_the_environment(tmp_path: Path) -> None:
    assert find_player({"RINGFENCE_PLAYER": "mpv --loop -"}) == ["mpv", "--loop", "-"]
    assert find_player({"PATH": str(tmp_path), "DISPLAY": ":0"}) is None
    fake = tmp_path / "ffplay"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o700)
    assert find_player({"PATH": str(tmp_path), "DISPLAY": ":0"}) == ["ffplay", "-"]
    assert find_player({"PATH": str(tmp_path), "WAYLAND_DISPLAY": "wayland-0"}) == ["ffplay", "-"]
    with pytest.raises(UsageError):
        find_player({"RINGFENCE_PLAYER": "'unbalanced"})


@pytest.mark.skipif(sys.platform == "darwin", reason="a Mac always has a display")
def test_no_windowed_player_is_started_without_a_display(tmp_path: Path) -> None:
    """On a headless box a player that opens a window would fail or wait for one
    that never comes: the owner is told to name a player instead."""
    fake = tmp_path / "mpv"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o700)
    with pytest.raises(UsageError, match="needs a display.*--player"):
        find_player({"PATH": str(tmp_path)})
    # A player the owner named is theirs to judge.
    assert find_player({"PATH": str(tmp_path), "RINGFENCE_PLAYER": "cat"}) == ["cat"]


def test_mpv_gets_a_buffer_that_holds_the_whole_clip() -> None:
    assert sized_for(["mpv", "-"], 3 << 20) == [
        "mpv",
        f"--stream-buffer-size={(3 << 20) + (1 << 16)}",
        "-",
    ]
    assert sized_for(["/usr/bin/mpv", "-"], 10)[1] == f"--stream-buffer-size={1 << 20}"
    assert sized_for(["mpv", "-"], 5 << 30)[1] == f"--stream-buffer-size={512 << 20}"
    mine = ["mpv", "--stream-buffer-size=64MiB", "-"]
    assert sized_for(mine, 3 << 20) == mine  # the owner's own setting stays
    assert sized_for(["ssh", "laptop", "mpv", "-"], 3 << 20) == ["ssh", "laptop", "mpv", "-"]
    assert sized_for(["ffplay", "-"], 3 << 20) == ["ffplay", "-"]


def test_a_missing_player_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such player"):
        PlayerProcess([str(tmp_path / "no-such-player")])


def test_every_binding_has_a_unique_id_and_is_documented() -> None:
    ids = [b.id for _cls, b in declared_bindings()]
    assert len(ids) == len(set(ids)), "binding ids must be unique"
    for binding_id in ids:
        assert binding_id and re.fullmatch(r"[a-z]+\.[a-z_]+", binding_id), binding_id
    documented = set(re.findall(r"`([a-z]+\.[a-z_]+)`", DOCS.read_text()))
    assert known_binding_ids() <= documented, sorted(known_binding_ids() - documented)


def test_tui_and_demo_plug_into_the_cli() -> None:
    from vault.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["--vault", "/v", "tui", "--exports", "/e"])
    assert args.func.__module__ == "tui.commands" and args.exports == Path("/e")
    args = parser.parse_args(["demo", "--every", "2", "--clean"])
    assert args.every == 2.0 and args.clean


def test_vault_never_imports_the_tui() -> None:
    import subprocess
    import sys

    code = (
        "import sys, vault.service, vault.cli, vault.ingest.daemon; "
        "bad = [m for m in sys.modules if m == 'textual' or m.startswith(('textual.', 'tui'))];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSTARTUP"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "name",
    [
        "inbox",
        "request",
        "approve",
        "refuse",
        "passphrase",
        "export",
        "preview",
        "clips",
        "audit",
        "help",
        "ask",
    ],
)
def test_one_screen_per_module(name: str) -> None:
    import importlib

    module = importlib.import_module(f"tui.screens.{name}")
    screens = [
        v
        for v in vars(module).values()
        if isinstance(v, type) and v.__module__ == module.__name__ and v.__name__.endswith("Screen")
    ]
    assert len(screens) == 1, screens


def test_the_player_does_not_see_the_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RINGFENCE_PASSPHRASE", "hunter2-secret")
    monkeypatch.setenv("RINGFENCE_PASSPHRASE_FILE", "/somewhere")
    player = tmp_path / "player.sh"
    seen = tmp_path / "env.txt"
    player.write_text(f"#!/bin/sh\nenv > {seen}\n")
    player.chmod(0o700)
    assert PlayerProcess([str(player)]).feed(lambda sink: None).exit_code == 0
    env = seen.read_text()
    assert "PATH=" in env and "hunter2-secret" not in env and "RINGFENCE_PASSPHRASE" not in env
