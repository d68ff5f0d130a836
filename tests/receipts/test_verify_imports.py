"""A requester's verifier loads no vault: no catalog, no database driver, no service."""

from __future__ import annotations

import subprocess
import sys

import pytest

#: Top-level packages and vault modules a requester's machine must never load.
FORBIDDEN = (
    "sqlmodel",
    "sqlalchemy",
    "alembic",
    "vault.catalog",
    "vault.service",
    "vault.store",
    "vault.keys",
    "vault.audit.log",
    "vault.ingest",
    "textual",
    "watchdog",
)


@pytest.mark.parametrize("module", ["vault.receipts.verify", "vault.receipts", "vault.signed"])
def test_offline_verification_imports_no_vault(module: str) -> None:
    code = (
        f"import sys, {module};"
        f"bad = {FORBIDDEN!r};"
        "print(','.join(sorted(m for m in sys.modules if m in bad "
        "or any(m.startswith(b + '.') for b in bad))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
