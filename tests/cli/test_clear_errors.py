"""Bad input gets its own exit code and a clear message, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.tools import run_cli
from vault.ingest.policy import display_name


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("errs") / "vault"
    run_cli(root, "init", "--kdf-log-n", "10")
    return root


def test_a_pattern_that_cannot_read_names_is_refused(vault: Path, tmp_path: Path) -> None:
    res = run_cli(
        vault, "camera", "add", "front", str(tmp_path / "d"), "--pattern", "cam_%Q", check=False
    )
    assert res.returncode == 2 and "cannot read file names" in res.stderr
    run_cli(vault, "camera", "add", "front", str(tmp_path / "d"), "--pattern", "cam_%Y%m%d_%H%M%S")


@pytest.mark.parametrize(
    "args,code,message",
    [
        (("audit", "consistency", "/nonexistent/checkpoint.txt"), 3, "no such file"),
        (("receipt", "verify", "/nonexistent/receipt.json"), 3, "no such file"),
        (("receipt", "show", "/nonexistent"), 3, "no such file"),
        (("request", "list", "--status", "pending"), 0, ""),
    ],
)
def test_missing_files_are_not_found(
    vault: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    res = run_cli(vault, *args, check=False)
    assert res.returncode == code, res.stderr
    assert message in res.stderr and "Traceback" not in res.stderr


def test_a_checkpoint_file_that_is_not_text(vault: Path, tmp_path: Path) -> None:
    bad = tmp_path / "cp.bin"
    bad.write_bytes(b"\xff\xfe\x00")
    res = run_cli(vault, "audit", "consistency", str(bad), check=False)
    assert res.returncode == 2 and "not UTF-8" in res.stderr


def test_a_bad_recipient_in_the_config_is_named(tmp_path: Path) -> None:
    root = tmp_path / "vault"
    run_cli(root, "init", "--kdf-log-n", "10")
    config = root / "config.toml"
    text = config.read_text()
    recipient = next(w.strip('",[]') for w in text.split() if w.strip('",[]').startswith("age1"))
    broken = recipient[:-3] + ("qqq" if recipient[-3:] != "qqq" else "ppp")
    config.write_text(text.replace(recipient, broken))
    res = run_cli(root, "status", check=False)
    assert res.returncode == 9 and "is not an age recipient" in res.stderr


def test_names_with_terminal_escapes_are_shown_escaped() -> None:
    assert display_name("a\x1b[2Jb\x07\x7f.mp4") == "a\\x1b[2Jb\\x07\\x7f.mp4"
    assert display_name(os.fsdecode(b"x\xff.mp4")) == "x\\xff.mp4"
    assert display_name("caf\u00e9 \u00fc.mp4") == "caf\u00e9 \u00fc.mp4"


def test_camera_commands_say_how_long_clips_are_kept(tmp_path: Path) -> None:
    root = tmp_path / "vault"
    run_cli(root, "init", "--kdf-log-n", "10")
    (tmp_path / "drop").mkdir()
    added = run_cli(root, "camera", "add", "front", str(tmp_path / "drop"))
    assert "keeps clips forever" in added.stdout
    changed = run_cli(root, "camera", "set", "front", "--retention-days", "30")
    assert "keeps clips 30 day(s)" in changed.stdout
    assert "30 d" in run_cli(root, "camera", "list").stdout


def test_usage_errors_name_the_tool_once(tmp_path: Path) -> None:
    top = run_cli(tmp_path / "v", "bogus", check=False)
    assert top.returncode == 2 and top.stderr.startswith("ringfence: argument COMMAND")
    sub = run_cli(tmp_path / "v", "export", "--nope", check=False)
    assert sub.returncode == 2 and sub.stderr.startswith("ringfence: export: ")
