"""Tampering with the catalog file directly (sqlite3) is caught, at the right place.

The log: 40 entries, checkpoints #1 at size 10 (device), #2 at 25 (device and
owner), #3 at 40 (device). Each case edits the SQLite file the way someone
with the disk in hand could, then runs the full verification in this process
and in worker processes, which must agree.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vault.audit import merkle
from vault.audit.log import AuditLog, VerifyReport
from vault.audit.note import NoteSigner
from vault.audit.verify import verify_checkpoint_consistency, verify_entry_inclusion
from vault.canonical import canonical_json, parse_canonical

Fill = Callable[..., list[int]]


@pytest.fixture
def notes(log: AuditLog, fill: Fill, device: NoteSigner, owner: NoteSigner) -> list[str]:
    fill(10)
    first = log.checkpoint([device])
    fill(15, 10)
    second = log.checkpoint([device, owner])
    fill(15, 25)
    third = log.checkpoint([device])
    assert first and second and third
    return [first, second, third]


@pytest.fixture
def db(db_path: Path, notes: list[str]) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(db_path, isolation_level=None)
    yield conn
    conn.close()


@pytest.fixture(params=[1, 2], ids=["in-process", "workers"])
def verify(
    request: pytest.FixtureRequest, log: AuditLog, keys: list[str]
) -> Callable[[], VerifyReport]:
    def run() -> VerifyReport:
        report = log.verify(keys, workers=request.param, chunk=8)
        assert not report  # every case here is a tampered log
        return report

    return run


def entry(db: sqlite3.Connection, idx: int) -> bytes:
    return bytes(db.execute("SELECT entry FROM audit_entry WHERE idx = ?", (idx,)).fetchone()[0])


def set_entry(db: sqlite3.Connection, idx: int, data: bytes, fix_hash: bool = False) -> None:
    db.execute("UPDATE audit_entry SET entry = ? WHERE idx = ?", (data, idx))
    if fix_hash:
        db.execute(
            "UPDATE audit_entry SET leaf_hash = ? WHERE idx = ?", (merkle.leaf_hash(data), idx)
        )


def rebuild_nodes(db: sqlite3.Connection) -> None:
    """What a careful attacker does after editing entries: recompute every cache."""
    rng = merkle.CompactRange()
    rows: list[tuple[int, int, bytes]] = []
    for (data,) in db.execute("SELECT entry FROM audit_entry ORDER BY idx").fetchall():
        rows.extend(n for n in rng.append(merkle.leaf_hash(bytes(data))) if n[0])
    db.execute("DELETE FROM audit_node")
    db.executemany("INSERT INTO audit_node (level, pos, hash) VALUES (?, ?, ?)", rows)


def test_the_untouched_log_verifies(log: AuditLog, keys: list[str], notes: list[str]) -> None:
    for workers in (1, 2):
        report = log.verify(keys, workers=workers, chunk=8)
        assert report.ok and report.size == 40 and report.checkpoints_checked == 3


def test_one_byte_of_an_entry(db: sqlite3.Connection, verify: Callable[[], VerifyReport]) -> None:
    data = entry(db, 17)
    set_entry(db, 17, data.replace(b"clip 17", b"clip 18"))  # still canonical JSON
    report = verify()
    assert report.first_bad_index == 17 and "leaf hash" in report.reason


def test_one_byte_that_breaks_the_canonical_form(
    db: sqlite3.Connection, verify: Callable[[], VerifyReport]
) -> None:
    data = entry(db, 17)
    set_entry(db, 17, data.replace(b'"actor":', b'"actor" :'), fix_hash=True)
    report = verify()
    assert report.first_bad_index == 17 and "canonical" in report.reason


def test_an_entry_and_its_leaf_hash(
    db: sqlite3.Connection, verify: Callable[[], VerifyReport]
) -> None:
    set_entry(db, 17, entry(db, 17).replace(b"clip 17", b"clip 18"), fix_hash=True)
    report = verify()
    # The first cached node over it, (1, 8), covers entries 16 and 17.
    assert report.first_bad_index == 16 and "node (level 1, pos 8)" in report.reason


def test_an_entry_with_every_cache_recomputed(
    db: sqlite3.Connection, verify: Callable[[], VerifyReport]
) -> None:
    set_entry(db, 17, entry(db, 17).replace(b"clip 17", b"clip 18"), fix_hash=True)
    rebuild_nodes(db)
    report = verify()
    # Only the signed checkpoints remember: #1 (size 10) still matches, #2 does not.
    assert report.first_bad_index == 10 and report.bad_checkpoint == 2
    assert "[10, 25)" in report.reason


def test_delete_an_entry(db: sqlite3.Connection, verify: Callable[[], VerifyReport]) -> None:
    db.execute("DELETE FROM audit_entry WHERE idx = 17")
    report = verify()
    assert report.first_bad_index == 17 and "missing" in report.reason


def test_delete_an_entry_and_renumber(
    db: sqlite3.Connection, verify: Callable[[], VerifyReport]
) -> None:
    db.execute("DELETE FROM audit_entry WHERE idx = 17")
    db.execute("UPDATE audit_entry SET idx = -idx WHERE idx > 17")
    db.execute("UPDATE audit_entry SET idx = -idx - 1 WHERE idx < 0")
    report = verify()
    assert report.first_bad_index == 17 and "says it is entry 18" in report.reason


def test_insert_an_entry(db: sqlite3.Connection, verify: Callable[[], VerifyReport]) -> None:
    before = parse_canonical(entry(db, 16))
    forged = canonical_json(
        {**before, "index": 17, "type": "clip.shredded", "details": {"reason": "nothing to see"}}
    )
    db.execute("UPDATE audit_entry SET idx = -idx WHERE idx >= 17")
    db.execute("UPDATE audit_entry SET idx = -idx + 1 WHERE idx < 0")
    db.execute(
        "INSERT INTO audit_entry (idx, at, type, entry, leaf_hash) VALUES (?, ?, ?, ?, ?)",
        (17, before["time"], "clip.shredded", forged, merkle.leaf_hash(forged)),
    )
    report = verify()
    assert report.first_bad_index == 17 and "inserted" in report.reason


def test_swap_two_entries(db: sqlite3.Connection, verify: Callable[[], VerifyReport]) -> None:
    db.execute("UPDATE audit_entry SET idx = -1 WHERE idx = 5")
    db.execute("UPDATE audit_entry SET idx = 5 WHERE idx = 9")
    db.execute("UPDATE audit_entry SET idx = 9 WHERE idx = -1")
    report = verify()
    assert report.first_bad_index == 5 and "says it is entry 9" in report.reason


def test_move_an_entry_back_in_time(
    db: sqlite3.Connection, verify: Callable[[], VerifyReport]
) -> None:
    obj = parse_canonical(entry(db, 17))
    obj["time"] = "2020-01-01T00:00:00.000000Z"
    data = canonical_json(obj)
    set_entry(db, 17, data, fix_hash=True)
    db.execute("UPDATE audit_entry SET at = ? WHERE idx = 17", (obj["time"],))
    report = verify()
    assert report.first_bad_index == 17 and "before the previous" in report.reason


def test_change_the_type_column_only(
    db: sqlite3.Connection, verify: Callable[[], VerifyReport]
) -> None:
    db.execute("UPDATE audit_entry SET type = 'clip.viewed' WHERE idx = 30")
    report = verify()
    assert report.first_bad_index == 30 and "type" in report.reason


def test_cut_the_tail(db: sqlite3.Connection, verify: Callable[[], VerifyReport]) -> None:
    db.execute("DELETE FROM audit_entry WHERE idx >= 30")
    db.execute("DELETE FROM audit_node WHERE ((pos + 1) << level) > 30")
    report = verify()
    assert report.first_bad_index == 30 and report.bad_checkpoint == 3
    assert "removed" in report.reason


def test_cut_the_tail_but_keep_its_nodes(
    db: sqlite3.Connection, verify: Callable[[], VerifyReport]
) -> None:
    db.execute("DELETE FROM audit_entry WHERE idx >= 30")
    db.execute("DELETE FROM checkpoint WHERE size > 30")
    report = verify()
    assert report.first_bad_index == 30 and "beyond the end" in report.reason


def test_edit_a_checkpoint_note(db: sqlite3.Connection, verify: Callable[[], VerifyReport]) -> None:
    note = db.execute("SELECT note FROM checkpoint WHERE id = 3").fetchone()[0]
    db.execute(
        "UPDATE checkpoint SET note = ?, size = 41 WHERE id = 3",
        (note.replace("\n40\n", "\n41\n"),),
    )
    report = verify()
    assert report.bad_checkpoint == 3 and report.first_bad_index is None
    assert "does not verify" in report.reason


def test_edit_a_checkpoint_row(db: sqlite3.Connection, verify: Callable[[], VerifyReport]) -> None:
    db.execute("UPDATE checkpoint SET root = ? WHERE id = 2", (bytes(32),))
    report = verify()
    assert report.bad_checkpoint == 2 and "differs from the signed note" in report.reason


def test_strip_every_trusted_signature(
    db: sqlite3.Connection, verify: Callable[[], VerifyReport]
) -> None:
    note = db.execute("SELECT note FROM checkpoint WHERE id = 1").fetchone()[0]
    body = note.split("\n\n")[0]
    db.execute(
        "UPDATE checkpoint SET note = ? WHERE id = 1",
        (body + "\n\n— someone.else BBBBBBBBBBBBBBBB\n",),
    )
    report = verify()
    assert report.bad_checkpoint == 1 and "no signature from a trusted key" in report.reason


def test_edit_a_cached_node(db: sqlite3.Connection, verify: Callable[[], VerifyReport]) -> None:
    db.execute("UPDATE audit_node SET hash = ? WHERE level = 2 AND pos = 3", (bytes(32),))
    report = verify()
    assert report.first_bad_index == 12 and "node (level 2, pos 3)" in report.reason


def test_delete_a_cached_node(db: sqlite3.Connection, verify: Callable[[], VerifyReport]) -> None:
    db.execute("DELETE FROM audit_node WHERE level = 1 AND pos = 10")
    report = verify()
    assert report.first_bad_index == 20 and "missing" in report.reason


def test_add_a_cached_node_that_cannot_exist(
    db: sqlite3.Connection, verify: Callable[[], VerifyReport]
) -> None:
    db.execute("INSERT INTO audit_node (level, pos, hash) VALUES (0, 3, ?)", (bytes(32),))
    report = verify()
    assert "should not exist" in report.reason


def test_cut_and_resign_passes_alone_but_not_against_a_kept_checkpoint(
    db: sqlite3.Connection,
    log: AuditLog,
    fill: Fill,
    device: NoteSigner,
    keys: list[str],
    notes: list[str],
) -> None:
    kept = notes[2]  # the size-40 checkpoint, e.g. inside a receipt a requester holds
    proof_of_35, entry_35 = log.prove(35), log.entry(35)
    # With the device key (it lives on the box) the tail is cut and the log re-signed.
    db.execute("DELETE FROM audit_entry WHERE idx >= 30")
    db.execute("DELETE FROM audit_node WHERE ((pos + 1) << level) > 30")
    db.execute("DELETE FROM checkpoint WHERE size > 30")
    forged = log.checkpoint([device])
    assert forged is not None
    assert log.verify(keys).ok  # the log is self-consistent again

    result = verify_checkpoint_consistency(kept, forged, [], keys)
    assert not result.ok and "was cut" in result.reason
    # Growing past the old size does not help: the history no longer extends it.
    fill(20, 30)
    regrown = log.checkpoint([device])
    assert regrown is not None and log.verify(keys).ok
    result = verify_checkpoint_consistency(kept, regrown, log.consistency_proof(40), keys)
    assert not result.ok and "rewritten" in result.reason
    # The requester's proof that the original entry 35 was logged still stands on its own;
    # the entry now at 35 is not the one the owner's log signed.
    assert verify_entry_inclusion(entry_35, proof_of_35, keys).ok
    assert not verify_entry_inclusion(log.entry(35), proof_of_35, keys).ok


def test_rollback_is_named_when_the_old_checkpoint_is_still_stored(
    db: sqlite3.Connection, log: AuditLog, device: NoteSigner, keys: list[str], notes: list[str]
) -> None:
    db.execute("DELETE FROM audit_entry WHERE idx >= 30")
    db.execute("DELETE FROM audit_node WHERE ((pos + 1) << level) > 30")
    # The refusal to sign a shorter log is in AuditLog; a forger writes the row himself.
    from vault.audit.note import Checkpoint, sign_note

    root = log.root(30)
    note = sign_note(Checkpoint("ringfence.vault/test", 30, root).body(), [device])
    db.execute(
        "INSERT INTO checkpoint (size, root, note, created_at) VALUES (30, ?, ?, ?)",
        (root, note, "2026-11-28T16:00:00.000000Z"),
    )
    for workers in (1, 2):
        report = log.verify(keys, workers=workers, chunk=8)
        assert not report.ok and report.first_bad_index == 30 and report.bad_checkpoint == 4
        assert "cut and re-signed" in report.reason
