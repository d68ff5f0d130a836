"""A checkpoint on paper: QR codes that scan back to the exact note, and typed checkpoints."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.tools import run_cli
from tests.witness.conftest import run_main


def _zbarimg() -> str:
    path = shutil.which("zbarimg")
    if path is None:
        reason = "zbarimg is not installed (apt-get install zbar-tools)"
        if os.environ.get("RINGFENCE_REQUIRE_TOOLS") == "1":
            pytest.fail(f"{reason}, and RINGFENCE_REQUIRE_TOOLS=1 forbids skipping")
        pytest.skip(reason)
    return path


def _scan(png: Path) -> bytes:
    # -Sbinary: the QR code's bytes as they are (UTF-8 em dashes included).
    res = subprocess.run(
        [_zbarimg(), "--raw", "-q", "-Sbinary", str(png)], capture_output=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    return res.stdout


@pytest.fixture
def vault_root(tmp_path: Path) -> Path:
    root = tmp_path / "vault"
    run_cli(root, "init", "--kdf-log-n", "10")
    run_cli(root, "camera", "add", "front", str(tmp_path / "drop-front"))
    return root


def test_the_png_scans_back_to_the_signed_checkpoint(vault_root: Path, tmp_path: Path) -> None:
    png = tmp_path / "checkpoint.png"
    res = run_cli(vault_root, "audit", "checkpoint", "--qr-png", str(png))
    note = res.stdout
    assert note.count("\u2014 ") >= 1
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _scan(png) == note.encode("utf-8")
    assert png.stat().st_mode & 0o777 == 0o644


def _terminal_to_png(drawing: str, path: Path) -> None:
    """Paint the block characters as a screen would (light glyphs on a dark
    background), so the terminal's QR code is scanned, not just printed."""
    image_mod = pytest.importorskip("PIL.Image")
    rows = drawing.split("\n")
    width = max(len(r) for r in rows)
    scale = 4
    img = image_mod.new("L", (width * scale, len(rows) * 2 * scale), 0)
    top = {"\u2588": (255, 255), "\u2580": (255, 0), "\u2584": (0, 255), " ": (0, 0)}
    for y, row in enumerate(rows):
        for x, ch in enumerate(row):
            upper, lower = top[ch]
            for dy, value in ((0, upper), (1, lower)):
                if value:
                    img.paste(
                        255,
                        (
                            x * scale,
                            (2 * y + dy) * scale,
                            (x + 1) * scale,
                            (2 * y + dy + 1) * scale,
                        ),
                    )
    img.save(path)


def test_the_terminal_qr_code_scans_too(vault_root: Path, tmp_path: Path) -> None:
    _zbarimg()
    out = run_cli(vault_root, "audit", "checkpoint", "--qr").stdout
    plain = run_cli(vault_root, "audit", "checkpoint").stdout
    assert out.startswith(plain)  # the note first, as text, then its QR code
    drawing = out[len(plain) :].strip("\n")
    assert set(drawing) <= {"\u2588", "\u2580", "\u2584", " ", "\n"}
    assert max(len(line) for line in drawing.split("\n")) <= 80  # fits a terminal
    png = tmp_path / "screen.png"
    _terminal_to_png(drawing, png)
    assert _scan(png) == plain.encode("utf-8")


def _lines(root: Path) -> tuple[str, int, str]:
    origin, size, root_hash = run_cli(root, "audit", "checkpoint").stdout.split("\n")[:3]
    return origin, int(size), root_hash


def test_a_typed_checkpoint_is_proven_extended(vault_root: Path, tmp_path: Path) -> None:
    origin, size, root_hash = _lines(vault_root)
    run_cli(vault_root, "camera", "add", "back", str(tmp_path / "drop-back"))
    # Typed with the spaces a person puts in to keep their place.
    spaced = " ".join(root_hash[i : i + 4] for i in range(0, len(root_hash), 4))
    res = run_cli(
        vault_root, "audit", "consistency", "--size", str(size), "--root", spaced, "--json"
    )
    out = json.loads(res.stdout)
    assert out["ok"] is True and out["old_size"] == size and out["size"] > size
    res = run_cli(
        vault_root,
        "audit",
        "consistency",
        "--size",
        str(size),
        "--root",
        root_hash,
        "--origin",
        origin,
    )
    assert res.stdout.startswith("ok: ")


def test_typed_checkpoints_that_do_not_match_fail(
    vault_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    origin, size, root_hash = _lines(vault_root)
    wrong = ("B" if root_hash[0] != "B" else "C") + root_hash[1:]
    cases = [
        (["--size", str(size), "--root", wrong], 6, "do not hash"),
        (["--size", str(size + 50), "--root", root_hash], 6, "entries were removed"),
        (["--size", "0", "--root", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="], 6, "empty log"),
        (
            ["--size", str(size), "--root", root_hash, "--origin", "ringfence.vault/other"],
            6,
            "another log",
        ),
        (["--size", str(size)], 2, "both --size and --root"),
        (["--size", str(size), "--root", "abc"], 2, "base64"),
        (["--size", "-3", "--root", root_hash], 2, "non-negative"),
        (["--size", str(size), "--root", root_hash, "somefile"], 2, "not both"),
        ([], 2, "give FILE"),
    ]
    for args, code, words in cases:
        rc, out, err = run_main(capsys, vault_root, "audit", "consistency", *args)
        assert rc == code, (args, out, err)
        assert words in err, (args, err)


def test_an_edited_entry_fails_the_typed_check(vault_root: Path) -> None:
    import sqlite3

    _origin, size, root_hash = _lines(vault_root)
    db = sqlite3.connect(vault_root / "catalog.db", isolation_level=None)
    (entry,) = db.execute("SELECT entry FROM audit_entry WHERE idx = 1").fetchone()
    edited = bytes(entry).replace(b'"actor":"owner"', b'"actor":"other"')
    assert edited != bytes(entry)
    db.execute("UPDATE audit_entry SET entry = ? WHERE idx = 1", (edited,))
    db.close()
    res = run_cli(
        vault_root, "audit", "consistency", "--size", str(size), "--root", root_hash, check=False
    )
    assert res.returncode == 6, res.stderr


def test_without_segno_the_qr_options_are_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from vault.errors import UsageError
    from vault.witness.paper import qr_png

    monkeypatch.setitem(sys.modules, "segno", None)  # import segno raises ImportError
    with pytest.raises(UsageError, match=r"ringfence\[witness\]"):
        qr_png("a\n1\nAAAA\n")
