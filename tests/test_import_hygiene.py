"""The core never imports the terminal app or Textual; only the watcher imports watchdog."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_core_modules_load_without_textual_or_watchdog() -> None:
    code = (
        "import sys, vault.cli, vault.service, vault.ingest.daemon, vault.receipts, vault.age;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'tui', 'watchdog'));"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_import_contracts_hold() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("import-linter is part of the dev extra and must be installed")
    out = subprocess.run([exe], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
