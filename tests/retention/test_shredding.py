"""Shredding is real: no file of the vault keeps a shredded header, and a copy of
the payload kept elsewhere can no longer be opened, even with the owner's key."""

from __future__ import annotations

import hashlib
import io
import random
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.retention.conftest import at, files_containing, headers, ingest, leftovers
from vault import age
from vault.canonical import canonical_json
from vault.errors import AgeError, IntegrityError, StorageError
from vault.jsonout import to_json
from vault.retention import verify_record
from vault.service import Vault


def test_no_file_keeps_a_shredded_header(vault: Vault, drop: Path) -> None:
    ids = ingest(vault, drop, [at(0), at(1), at(2), at(400)])
    vault.cameras.change("front", retention_days=30)
    before = headers(vault)
    keep = ids[at(2)]
    vault.holds.add("front", at(2), at(3), "claim")
    vault.clock.set(lambda: at(100))  # at(400) is not due yet
    report = vault.retention.run()
    gone = {c["id"] for c in report.shredded}
    assert gone == {ids[at(0)], ids[at(1)]}
    assert to_json(report.scrub) == {"wal_truncated": True, "vacuumed": False, "copies_left": []}
    assert leftovers(vault.root, {cid: before[cid] for cid in gone}) == {}
    # The search does find what is still there: the held clip's header.
    assert files_containing(vault.root, before[keep]) == ["catalog.db"]
    assert set(headers(vault)) == {keep, ids[at(400)]}


def test_many_clips_and_rounds_leave_nothing(vault: Vault, drop: Path) -> None:
    """Rows of different sizes, shredded in several rounds between ingests, so
    SQLite splits, fills and rewrites pages; still no shredded key survives."""
    rnd = random.Random(7)
    shredded: dict[str, bytes] = {}
    day = 0
    for _round in range(4):
        times = [at(day + i / 24) for i in range(30)]
        day += 2
        for t in times:
            (drop / f"front_{t:%Y%m%d_%H%M%S}+0000{'_' * rnd.randint(0, 120)}.mp4").write_bytes(
                rnd.randbytes(rnd.randint(1, 4000))
            )
        from vault.ingest.daemon import Daemon, DaemonOptions

        Daemon(vault, DaemonOptions(once=True, settle_seconds=0)).run()
        live = headers(vault)
        for cid in rnd.sample(sorted(live), len(live) // 2):
            vault.retention.shred(cid, "round")
            shredded[cid] = live[cid]
    assert len(shredded) > 50
    assert leftovers(vault.root, shredded) == {}
    assert vault.audit.verify(vault.verifier_keys()).ok


def test_a_copy_of_the_payload_cannot_be_opened_after_shredding(
    vault: Vault, drop: Path, tmp_path: Path
) -> None:
    ids = ingest(vault, drop, [at(0), at(50_000)])
    victim, other = ids[at(0)], ids[at(50_000)]
    backup = tmp_path / "backup.payload"
    shutil.copyfile(vault.store.path(victim), backup)
    identity = vault.owner_keys().identity
    header = headers(vault)[victim]
    # Before: header ‖ payload is an age file the owner opens.
    plain = io.BytesIO()
    age.decrypt(io.BytesIO(header + backup.read_bytes()), plain, [identity])
    assert hashlib.sha256(plain.getvalue()).hexdigest() == vault.clips.get(victim).sha256

    vault.retention.run()

    assert vault.clips.get(victim).shredded and victim not in headers(vault)
    payload = backup.read_bytes()
    with pytest.raises(AgeError):  # the payload alone is not an age file
        age.decrypt(io.BytesIO(payload), io.BytesIO(), [identity])
    # Nor does any header that still exists open it: each clip has its own key.
    other_key = age.unwrap_file_key(headers(vault)[other], [identity])
    with pytest.raises(AgeError):
        age.decrypt_payload(other_key, io.BytesIO(payload), io.BytesIO())
    assert files_containing(vault.root, header) == []


def test_deletion_record_is_signed_and_logged(vault: Vault, drop: Path) -> None:
    ids = ingest(vault, drop, [at(0), at(1)])
    info = {c.id: c for c in vault.clips.all()}
    report = vault.retention.run()
    [record] = vault.retention.deletion_records()
    assert record["id"] == report.record and record["trigger"] == "retention"
    verify_record(record, vault.config.device_verifier)
    with pytest.raises(IntegrityError):
        verify_record(record, vault.config.owner_verifier)
    assert {c["id"]: (c["sha256"], c["payload_sha256"]) for c in record["clips"]} == {
        cid: (info[cid].sha256, info[cid].payload_sha256) for cid in ids.values()
    }
    assert all(c["rule"] == "retention" and "30 day(s)" in c["why"] for c in record["clips"])
    assert record["created_at"] and record["vault"] == vault.config.origin
    digest = hashlib.sha256(canonical_json(record)).hexdigest()
    entries = [e for _i, e in vault.audit.entries()]
    [run] = [e for e in entries if e["type"] == "retention.run"]
    assert run["details"]["record"] == record["id"] and run["details"]["record_sha256"] == digest
    shredded = [e for e in entries if e["type"] == "clip.shredded"]
    assert {e["subject"] for e in shredded} == set(ids.values())
    assert all(e["details"]["record_sha256"] == digest for e in shredded)
    assert vault.audit.verify(vault.verifier_keys()).ok
    # A run that deletes nothing writes no record.
    vault.retention.run()
    assert len(vault.retention.deletion_records()) == 1


def _raw(vault: Vault) -> sqlite3.Connection:
    conn = sqlite3.connect(vault.layout.catalog, isolation_level=None)
    conn.execute("PRAGMA secure_delete=OFF")
    return conn


def test_a_stale_copy_sqlite_left_behind_is_removed_with_vacuum(vault: Vault, drop: Path) -> None:
    """If a page ever kept old bytes (here: written and deleted without
    secure_delete), the scrub finds them and rebuilds the catalog."""
    ids = ingest(vault, drop, [at(0)])
    header = headers(vault)[ids[at(0)]]
    raw = _raw(vault)
    raw.execute("INSERT INTO meta (key, value) VALUES ('x', ?)", (header.decode(),))
    raw.execute("DELETE FROM meta WHERE key = 'x'")
    raw.close()
    result = vault.retention.shred(ids[at(0)], "test")
    assert result.scrub.vacuumed is True and result.scrub.copies_left == ()
    assert files_containing(vault.root, header) == []


def test_a_copy_that_survives_is_an_error(vault: Vault, drop: Path) -> None:
    ids = ingest(vault, drop, [at(0)])
    header = headers(vault)[ids[at(0)]]
    raw = _raw(vault)
    raw.execute("INSERT INTO meta (key, value) VALUES ('x', ?)", (header.decode(),))
    raw.close()
    with pytest.raises(IntegrityError, match="still in catalog.db"):
        vault.retention.shred(ids[at(0)], "test")


def test_a_blocked_wal_truncation_is_reported_and_retried(
    vault: Vault, drop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = ingest(vault, drop, [at(0)])
    header = headers(vault)[ids[at(0)]]
    real = vault.retention._pragma
    monkeypatch.setattr("vault.service.retention.time.sleep", lambda _s: None)
    monkeypatch.setattr(
        vault.retention, "_pragma", lambda sql: (1, -1, -1) if "TRUNCATE" in sql else real(sql)
    )
    with pytest.raises(StorageError, match="retention run"):
        vault.retention.shred(ids[at(0)], "test")
    assert vault.clips.get(ids[at(0)]).shredded  # committed: the key is gone from the catalog
    assert files_containing(vault.root, header) == ["catalog.db-wal"]  # but not from the WAL
    monkeypatch.setattr(vault.retention, "_pragma", real)
    vault.retention.run()  # nothing to shred, but the WAL is truncated now
    assert files_containing(vault.root, header) == []


_OTHER_PROCESS = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
print(conn.execute("SELECT count(*) FROM clip").fetchone()[0])
conn.close()
"""


def test_the_scrub_leaves_this_process_s_catalog_locks_in_place(vault: Vault, drop: Path) -> None:
    """POSIX locks belong to a process: closing any descriptor of catalog.db or
    its -wal/-shm drops every lock the process holds there, its open SQLite
    connections' included. A scrub that read the live files itself would let
    the next process to close the catalog take itself for the last one and
    delete the -shm and -wal under this process's open connections, whose
    later writes then went to a deleted file no other process sees."""
    import subprocess
    import sys

    ids = ingest(vault, drop, [at(0), at(1)])
    vault.clips.get(ids[at(1)])  # this process keeps a pooled connection open
    vault.retention.shred(ids[at(0)], "test")
    catalog = vault.root / "catalog.db"
    seen = subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, str(catalog)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert seen.strip() == "2"
    assert (vault.root / "catalog.db-shm").exists()  # still shared, not deleted
    ingest(vault, drop, [at(2)])  # a write from this process after the other one left
    seen = subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, str(catalog)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert seen.strip() == "3"  # another process sees it
