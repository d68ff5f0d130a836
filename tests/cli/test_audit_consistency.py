"""`audit consistency` proves from the entries themselves, and reads what people hand it.

The attacks edit catalog.db with sqlite3 (the file, no passphrase): an
entry's bytes only, then the entry together with its cached leaf hash. Both
must fail with 6, as `audit verify` does, although the cached subtree hashes
still agree with the older checkpoint.
"""

from __future__ import annotations

import json
import sqlite3
from hashlib import sha256
from pathlib import Path

import pytest

from tests.tools import run_cli


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    """A vault with a camera, a saved checkpoint, and a few entries after it."""
    root = tmp_path / "vault"
    run_cli(root, "init", "--kdf-log-n", "10")
    run_cli(root, "camera", "add", "front", str(tmp_path / "drop-front"))
    saved = tmp_path / "checkpoint.txt"
    saved.write_text(run_cli(root, "audit", "checkpoint").stdout)
    run_cli(root, "camera", "add", "back", str(tmp_path / "drop-back"))
    return root, saved


def _edit_entry(root: Path, index: int, *, fix_leaf_hash: bool) -> None:
    db = sqlite3.connect(root / "catalog.db", isolation_level=None)
    (entry,) = db.execute("SELECT entry FROM audit_entry WHERE idx = ?", (index,)).fetchone()
    edited = bytes(entry).replace(b'"actor":"owner"', b'"actor":"other"')
    assert edited != bytes(entry)
    db.execute("UPDATE audit_entry SET entry = ? WHERE idx = ?", (edited, index))
    if fix_leaf_hash:
        db.execute(
            "UPDATE audit_entry SET leaf_hash = ? WHERE idx = ?",
            (sha256(b"\x00" + edited).digest(), index),
        )
    db.close()


def test_the_untouched_log_extends_its_checkpoint(world: tuple[Path, Path]) -> None:
    root, saved = world
    res = run_cli(root, "audit", "consistency", str(saved), "--json")
    out = json.loads(res.stdout)
    assert out["ok"] is True and out["old_size"] < out["size"]


@pytest.mark.parametrize("fix_leaf_hash", [False, True], ids=["entry", "entry-and-leaf-hash"])
def test_an_edited_entry_before_the_checkpoint_fails(
    world: tuple[Path, Path], fix_leaf_hash: bool
) -> None:
    root, saved = world
    _edit_entry(root, 1, fix_leaf_hash=fix_leaf_hash)
    res = run_cli(root, "audit", "consistency", str(saved), check=False)
    assert res.returncode == 6, res.stdout + res.stderr
    assert "consistency check failed" in res.stderr and "Traceback" not in res.stderr
    assert run_cli(root, "audit", "verify", check=False).returncode == 6


def test_an_edited_entry_after_the_checkpoint_fails(world: tuple[Path, Path]) -> None:
    root, saved = world
    size = int(saved.read_text().splitlines()[1])
    _edit_entry(root, size, fix_leaf_hash=False)
    res = run_cli(root, "audit", "consistency", str(saved), check=False)
    assert res.returncode == 6 and f"entry {size}" in res.stderr


def test_crlf_and_trailing_blank_lines_are_read(world: tuple[Path, Path]) -> None:
    root, saved = world
    text = saved.read_text()
    saved.write_bytes((text.replace("\n", "\r\n") + "\r\n\r\n").encode())
    assert run_cli(root, "audit", "consistency", str(saved)).stdout.startswith("ok: ")
    saved.write_text(text + "\n\n\n")
    assert run_cli(root, "audit", "consistency", str(saved)).stdout.startswith("ok: ")


def test_a_receipt_and_its_export_folder_are_read(world: tuple[Path, Path], tmp_path: Path) -> None:
    root, _saved = world
    rid = run_cli(
        root,
        "request",
        "add",
        "--requester",
        "A",
        "--org",
        "B",
        "--kind",
        "other",
        "--basis",
        "consent",
        "--reason",
        "r",
        "--camera",
        "front",
        "--from",
        "2026-01-01",
        "--to",
        "2026-01-02",
    ).stdout.strip()
    out = tmp_path / "refusal"
    run_cli(root, "refuse", rid, "--reason", "no", "--out", str(out))
    run_cli(root, "camera", "add", "side", str(tmp_path / "drop-side"))
    for given in (out / "receipt.json", out):
        res = run_cli(root, "audit", "consistency", str(given))
        assert res.stdout.startswith("ok: "), res.stderr


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xfe\x00",
        b"hello\n",
        b"origin\n12\nnot base64!\n\n\xe2\x80\x94 k abc\n",
        b'{"not": "a receipt"}\n',
        b"{broken json",
    ],
    ids=["binary", "text", "bad-root", "json", "broken-json"],
)
def test_a_file_that_is_not_a_checkpoint_is_a_usage_error(
    world: tuple[Path, Path], tmp_path: Path, content: bytes
) -> None:
    root, _saved = world
    bad = tmp_path / "not-a-checkpoint"
    bad.write_bytes(content)
    res = run_cli(root, "audit", "consistency", str(bad), check=False)
    assert res.returncode == 2, res.stderr
    assert "not a" in res.stderr and "Traceback" not in res.stderr


def test_a_checkpoint_of_another_vault_is_an_integrity_failure(
    world: tuple[Path, Path], tmp_path: Path
) -> None:
    root, _saved = world
    other = tmp_path / "other"
    run_cli(other, "init", "--kdf-log-n", "10")
    run_cli(other, "camera", "add", "x", str(tmp_path / "drop-x"))
    foreign = tmp_path / "foreign.txt"
    foreign.write_text(run_cli(other, "audit", "checkpoint").stdout)
    res = run_cli(root, "audit", "consistency", str(foreign), check=False)
    assert res.returncode == 6 and "older checkpoint" in res.stderr
