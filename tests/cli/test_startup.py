"""Start-up: each command imports only what it uses; the bare program helps; Ctrl-C is one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools import cli_env, run_cli

HEAVY = ("sqlalchemy", "sqlmodel", "textual", "cryptography")

_HELP_EVERY_COMMAND = """
import argparse, contextlib, io, json, sys
from vault.cli import build_parser, main

def leaves(parser, path):
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path
    for action in subs:
        for name, child in action.choices.items():
            yield from leaves(child, [*path, name])

commands = [[]] + list(leaves(build_parser(), []))
for words in commands:
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            main([*words, "--help"])
        except SystemExit:
            pass
print(json.dumps({"commands": len(commands),
                  "loaded": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def test_help_imports_no_database_ui_or_crypto_library() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _HELP_EVERY_COMMAND],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result = json.loads(out.stdout)
    assert result["commands"] > 30  # every leaf command's --help ran
    assert not set(HEAVY) & set(result["loaded"]), result["loaded"]


@pytest.mark.parametrize("words", [["status", "--json"], ["clips", "list", "--json"]])
def test_status_and_clips_list_import_no_textual(tmp_path: Path, words: list[str]) -> None:
    root = tmp_path / "vault"
    run_cli(root, "init", "--kdf-log-n", "10")
    code = (
        "import sys, json; from vault.cli import main;"
        f"rc = main(['--vault', {str(root)!r}, *{words!r}]);"
        "print(json.dumps([rc, sorted(m for m in sys.modules if m.split('.')[0] == 'textual')]),"
        " file=sys.stderr)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=cli_env(root),
        check=True,
        timeout=120,
    )
    rc, ui_modules = json.loads(out.stderr.strip().splitlines()[-1])
    assert rc == 0 and ui_modules == []


def test_a_bare_ringfence_lists_the_commands(tmp_path: Path) -> None:
    res = run_cli(tmp_path / "none", check=False)
    assert res.returncode == 0, res.stderr
    for command in ("init", "status", "daemon", "approve", "export", "audit", "tui"):
        assert f"    {command}" in res.stdout


def test_global_options_are_accepted_after_the_command(tmp_path: Path) -> None:
    root = tmp_path / "vault"
    run_cli(root, "init", "--kdf-log-n", "10")
    elsewhere = tmp_path / "not-a-vault"
    env = cli_env(elsewhere)  # RINGFENCE_VAULT points elsewhere: the option must win
    res = run_cli(elsewhere, "status", "--json", "--vault", str(root), env=env)
    assert json.loads(res.stdout)["vault"] == str(root)
    res = run_cli(elsewhere, "camera", "list", "--vault", str(root), "--json", env=env)
    assert json.loads(res.stdout) == []
    # The option before the command still works, and after it, it wins.
    res = run_cli(
        elsewhere, "--vault", str(elsewhere), "status", "--json", "--vault", str(root), env=env
    )
    assert json.loads(res.stdout)["vault"] == str(root)


_INTERRUPT_AT = """
import sys
from vault.cli import main

limit = int(sys.argv[1])
seen = 0

def tracer(frame, event, arg):
    global seen
    if event == "line" and ("/vault/" in frame.f_code.co_filename
                            or "/tui/" in frame.f_code.co_filename):
        seen += 1
        if seen == limit:
            raise KeyboardInterrupt  # as if Ctrl-C arrived at this line
    return tracer

sys.settrace(tracer)
code = main(["status"])
sys.settrace(None)
if limit == 0:
    print(seen, file=sys.stderr)
raise SystemExit(code)
"""


def test_ctrl_c_anywhere_in_start_up_is_one_line(tmp_path: Path) -> None:
    """KeyboardInterrupt raised at lines spread over all of `status`'s start-up.

    A trace function raises it at the N-th traced event of ringfence code, so
    every moment is reached without depending on timing.
    """
    env = cli_env(tmp_path / "no-vault")
    first = subprocess.run(
        [sys.executable, "-c", _INTERRUPT_AT, "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    total = int(first.stderr.strip().splitlines()[-1])
    assert first.returncode == 9 and total > 1000
    # Line 1 is main's `try:` itself; from line 2 on, every line is inside it.
    for n in sorted({2, 3, 4, *range(5, total, max(1, total // 15)), total - 1}):
        res = subprocess.run(
            [sys.executable, "-c", _INTERRUPT_AT, str(n)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "Traceback" not in res.stderr, (n, res.stderr)
        assert res.returncode == 130, (n, res.returncode, res.stderr)
        assert res.stderr.splitlines() == ["ringfence: interrupted"], (n, res.stderr)


def test_status_reads_the_catalog_without_the_database_library(tmp_path: Path) -> None:
    # status answers from a plain sqlite3 snapshot: SQLAlchemy and SQLModel
    # cost many times the interpreter's start-up and are not loaded.
    root = tmp_path / "vault"
    run_cli(root, "init", "--kdf-log-n", "10")
    run_cli(root, "camera", "add", "front", str(tmp_path / "drop"))
    code = (
        "import sys, json; from vault.cli import main;"
        f"rc = main(['--vault', {str(root)!r}, 'status', '--json']);"
        "print(json.dumps([rc, sorted({m.split('.')[0] for m in sys.modules}"
        " & {'sqlalchemy', 'sqlmodel', 'alembic', 'pydantic', 'textual'})]),"
        " file=sys.stderr)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=cli_env(root),
        check=True,
        timeout=120,
    )
    rc, heavy = json.loads(out.stderr.strip().splitlines()[-1])
    report = json.loads(out.stdout)
    assert rc == 0 and heavy == []
    assert [c["name"] for c in report["cameras"]] == ["front"]
    assert report["audit_size"] >= 2


def test_status_on_a_catalog_at_an_older_schema_migrates_it_first(tmp_path: Path) -> None:
    import sqlite3

    from vault.catalog.sqlite import HEAD_REVISION

    root = tmp_path / "vault"
    run_cli(root, "init", "--kdf-log-n", "10")
    conn = sqlite3.connect(root / "catalog.db")
    # The catalog as migration 0002 left it (0003, 0004 and 0005 added these columns).
    conn.execute("ALTER TABLE camera_folder DROP COLUMN identity")
    conn.execute("ALTER TABLE clip DROP COLUMN captured_from_mtime")
    conn.execute("ALTER TABLE clip DROP COLUMN truncated")
    conn.execute("ALTER TABLE decision DROP COLUMN release")
    conn.execute("ALTER TABLE camera DROP COLUMN export_audio")
    conn.execute("UPDATE alembic_version SET version_num = '0002'")
    conn.commit()
    conn.close()
    report = json.loads(run_cli(root, "status", "--json").stdout)
    assert report["audit_size"] >= 1
    conn = sqlite3.connect(root / "catalog.db")
    assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == HEAD_REVISION
    conn.close()
