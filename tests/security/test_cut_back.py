"""Cutting the audit log back to an older checkpoint, with no key at all.

The attacker deletes every entry after an older checkpoint, with its cached
nodes, the later checkpoints and the copy beside the catalog, so that what is
left is a log that is internally consistent. Only a checkpoint kept where the
vault's files are not shows that history was removed.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.requests.test_service import REQ, ingest
from vault.config import owner_head_path
from vault.errors import IntegrityError
from vault.service import Vault


def _cut_back(vault: Vault, size: int) -> None:
    db = sqlite3.connect(vault.layout.catalog)
    with db:
        note = db.execute(
            "SELECT note FROM checkpoint WHERE size = ? ORDER BY id LIMIT 1", (size,)
        ).fetchone()[0]
        db.execute("DELETE FROM audit_entry WHERE idx >= ?", (size,))
        db.execute("DELETE FROM audit_node WHERE (pos + 1) * (1 << level) > ?", (size,))
        db.execute("DELETE FROM checkpoint WHERE size > ?", (size,))
    db.close()
    vault.layout.checkpoint_copy.write_text(note)


def _history(vault: Vault, camera: Path) -> int:
    """A log with an early checkpoint, then a decision the owner signed after it."""
    ingest(vault, camera, n=2)
    early = vault.audit.size()
    vault.checkpoint()
    rid = vault.requests.add(REQ)
    vault.requests.decide(rid, approve=True, reason="ok")
    return early


def test_a_log_cut_back_fails_verification_against_the_owners_head(
    vault: Vault, camera: Path
) -> None:
    early = _history(vault, camera)
    assert owner_head_path(vault.config.vault_id).exists()
    assert vault.audit.verify(vault.verifier_keys())
    _cut_back(vault, early)
    report = vault.audit.verify(vault.verifier_keys())
    assert not report
    assert "newest checkpoint the owner signed" in report.reason
    assert "cut back" in report.reason


def test_the_owner_never_signs_a_log_that_was_cut_back(vault: Vault, camera: Path) -> None:
    early = _history(vault, camera)
    _cut_back(vault, early)
    assert vault.unlocked
    with pytest.raises(IntegrityError, match="cut back or rewritten"):
        vault.checkpoint()


def test_the_cli_reports_the_cut(vault: Vault, camera: Path) -> None:
    from tests.tools import run_cli

    early = _history(vault, camera)
    _cut_back(vault, early)
    res = run_cli(vault.root, "audit", "verify", passphrase=None, check=False)
    assert res.returncode == 6
    assert "cut back" in res.stdout + res.stderr
    assert "Traceback" not in res.stderr


def test_a_head_the_owner_did_not_sign_is_not_trusted(vault: Vault, camera: Path) -> None:
    """Someone who can write the owner's folder replaces the head with the device's note."""
    _history(vault, camera)
    vault.lock()
    vault.requests.withdraw(
        vault.requests.all()[0].id, "no longer needed"
    )  # signed by the device alone
    [device_only] = [cp.note for cp in vault.audit.checkpoints()][-1:]
    head = owner_head_path(vault.config.vault_id)
    head.write_text(device_only)
    report = vault.audit.verify(vault.verifier_keys())
    assert not report
    assert str(head) in report.reason
