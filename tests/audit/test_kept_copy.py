"""The copy of the latest checkpoint kept beside the catalog (checkpoint.note).

Deleting the catalog's checkpoint rows used to make a rewritten log look
self-consistent again, and the daemon would then sign the forgery. With the
copy, both the verification and the signing refuse.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.audit.conftest import ORIGIN, StepClock
from tests.audit.test_tamper import rebuild_nodes
from vault.audit.log import AuditLog
from vault.audit.note import NoteSigner
from vault.errors import IntegrityError

Fill = Callable[..., list[int]]


@pytest.fixture
def copy_path(tmp_path: Path) -> Path:
    return tmp_path / "checkpoint.note"


@pytest.fixture
def log(engine: Engine, clock: StepClock, copy_path: Path) -> AuditLog:
    return AuditLog(engine, ORIGIN, clock=clock, copy_path=copy_path, events=None)


@pytest.fixture
def signed(log: AuditLog, fill: Fill, device: NoteSigner, owner: NoteSigner) -> list[str]:
    fill(10)
    first = log.checkpoint([device, owner])
    fill(20, 10)
    second = log.checkpoint([device])
    assert first and second
    return [first, second]


@pytest.fixture
def db(db_path: Path, signed: list[str]) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(db_path, isolation_level=None)
    yield conn
    conn.close()


def test_each_checkpoint_is_copied_private(
    log: AuditLog, copy_path: Path, fill: Fill, device: NoteSigner, keys: list[str]
) -> None:
    assert log.read_copy() is None
    fill(3)
    note = log.checkpoint([device])
    assert copy_path.read_text() == note
    assert stat.S_IMODE(os.stat(copy_path).st_mode) == 0o600
    fill(2, 3)
    newer = log.checkpoint([device])
    assert copy_path.read_text() == newer
    assert log.verify(keys).ok


def test_an_older_copy_is_not_written_over_a_newer_one(
    log: AuditLog, copy_path: Path, fill: Fill, device: NoteSigner, keys: list[str]
) -> None:
    fill(3)
    older = log.checkpoint([device])
    fill(2, 3)
    newer = log.checkpoint([device])
    assert older and newer
    log._keep_copy(older, 3)  # a slower process finishing its write late
    assert copy_path.read_text() == newer
    assert log.verify(keys).ok


def test_deleting_the_checkpoints_is_caught(
    db: sqlite3.Connection, log: AuditLog, keys: list[str]
) -> None:
    db.execute("DELETE FROM checkpoint")
    report = log.verify(keys)
    assert not report.ok and report.first_bad_index == 0
    assert "no signed checkpoint" in report.reason


def test_deleting_the_latest_checkpoint_is_caught(
    db: sqlite3.Connection, log: AuditLog, keys: list[str]
) -> None:
    db.execute("DELETE FROM checkpoint WHERE size = 30")
    report = log.verify(keys)
    assert not report.ok and "not among the catalog's checkpoints" in report.reason


def test_a_rewrite_with_the_checkpoints_deleted_is_caught_and_not_signed(
    db: sqlite3.Connection, log: AuditLog, device: NoteSigner, keys: list[str]
) -> None:
    # Entry 17 rewritten, every cache recomputed, every checkpoint row deleted:
    # the catalog alone is a consistent log again.
    data = bytes(db.execute("SELECT entry FROM audit_entry WHERE idx = 17").fetchone()[0])
    forged = data.replace(b"clip 17.mp4", b"clip 99.mp4")
    assert forged != data
    from vault.audit import merkle

    db.execute(
        "UPDATE audit_entry SET entry = ?, leaf_hash = ? WHERE idx = 17",
        (forged, merkle.leaf_hash(forged)),
    )
    rebuild_nodes(db)
    db.execute("DELETE FROM checkpoint")
    for workers in (1, 2):
        report = log.verify(keys, workers=workers, chunk=8)
        assert not report.ok
        assert "checkpoint.note" in report.reason and "was changed" in report.reason
        assert report.first_bad_index == 0  # nothing vouches for any earlier entry
    with pytest.raises(IntegrityError, match="no longer extends"):
        log.checkpoint([device])
    assert db.execute("SELECT COUNT(*) FROM checkpoint").fetchone()[0] == 0


def test_cut_tail_with_the_checkpoints_deleted_is_caught_and_not_signed(
    db: sqlite3.Connection, log: AuditLog, device: NoteSigner, keys: list[str]
) -> None:
    db.execute("DELETE FROM audit_entry WHERE idx >= 20")
    db.execute("DELETE FROM audit_node WHERE ((pos + 1) << level) > 20")
    db.execute("DELETE FROM checkpoint")
    report = log.verify(keys)
    assert not report.ok and report.first_bad_index == 20
    assert "covers 30 entries but the log has 20" in report.reason
    with pytest.raises(IntegrityError, match="no longer extends"):
        log.checkpoint([device])


def test_a_missing_copy_is_reported(
    db: sqlite3.Connection, log: AuditLog, copy_path: Path, device: NoteSigner, keys: list[str]
) -> None:
    copy_path.unlink()
    report = log.verify(keys)
    assert not report.ok and "is missing" in report.reason
    # Signing again (nothing new to sign) puts the copy back.
    assert log.checkpoint([device]) is None
    assert log.verify(keys).ok


def test_a_forged_copy_is_reported(
    db: sqlite3.Connection, log: AuditLog, copy_path: Path, keys: list[str]
) -> None:
    text = copy_path.read_text()
    copy_path.write_text(text.replace("\n30\n", "\n29\n"))
    report = log.verify(keys)
    assert not report.ok and "checkpoint.note" in report.reason
    copy_path.write_bytes(b"\xff\xfe not a note")
    report = log.verify(keys)
    assert not report.ok and "checkpoint.note" in report.reason


def test_a_vault_keeps_its_copy_and_audit_verify_uses_it(tmp_path: Path) -> None:
    from tests.tools import run_cli
    from vault.service import Vault

    root = tmp_path / "vault"
    run_cli(root, "init", "--kdf-log-n", "10", check=True)
    vault = Vault.open(root)
    try:
        assert vault.layout.checkpoint_copy.read_text() == vault.audit.latest_checkpoint().note
    finally:
        vault.close()
    assert run_cli(root, "audit", "verify").returncode == 0
    conn = sqlite3.connect(root / "catalog.db", isolation_level=None)
    conn.execute("DELETE FROM checkpoint")
    conn.close()
    result = run_cli(root, "audit", "verify", check=False)
    assert result.returncode != 0 and "no signed checkpoint" in result.stdout + result.stderr
