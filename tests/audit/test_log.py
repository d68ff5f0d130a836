"""AuditLog on a real catalog: appends, transactions, checkpoints, proofs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from vault.audit import merkle
from vault.audit.log import AuditLog, format_time
from vault.audit.note import NoteSigner, open_checkpoint
from vault.audit.proof import parse_inclusion_proof
from vault.audit.verify import verify_checkpoint_consistency, verify_entry_inclusion
from vault.canonical import parse_canonical
from vault.errors import IntegrityError, NotFound

from .conftest import ORIGIN, StepClock

Fill = Callable[..., list[int]]


def test_append_writes_canonical_entries(log: AuditLog, clock: StepClock) -> None:
    assert log.size() == 0
    assert log.root() == merkle.EMPTY_ROOT
    assert log.append("daemon.started", actor="daemon", details={"pid": 42}) == 0
    assert log.append("camera.added", actor="owner", subject="front") == 1
    entry = log.entry(1)
    assert parse_canonical(entry) == {
        "index": 1,
        "time": format_time(clock.now),
        "type": "camera.added",
        "actor": "owner",
        "subject": "front",
        "details": {},
    }
    assert entry == (
        b'{"actor":"owner","details":{},"index":1,"subject":"front",'
        b'"time":"2026-11-28T15:20:00.002000Z","type":"camera.added"}'
    )
    assert log.size() == 2
    assert log.root() == merkle.root_from_leaves([merkle.leaf_hash(log.entry(i)) for i in (0, 1)])
    assert [i for i, _ in log.entries()] == [0, 1]
    with pytest.raises(NotFound):
        log.entry(2)


def test_bad_events_are_refused(log: AuditLog) -> None:
    with pytest.raises(ValueError):
        log.append("", actor="owner")
    with pytest.raises(ValueError):
        log.append("x.y", actor="")
    with pytest.raises(TypeError):
        log.append("x.y", actor="owner", details={"duration": 1.5})
    with pytest.raises(ValueError):
        log.append_many([("x.y", {"actor": "owner", "colour": "red"})])
    assert log.size() == 0


def test_entry_with_the_callers_transaction(log: AuditLog, engine: Engine) -> None:
    log.append("daemon.started", actor="daemon")
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(text("INSERT INTO meta (key, value) VALUES ('k', 'v')"))
        log.append("config.changed", actor="owner", conn=conn)
        raise RuntimeError("the caller's change failed")
    assert log.size() == 1
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO meta (key, value) VALUES ('k', 'v')"))
        assert log.append("config.changed", actor="owner", conn=conn) == 1
        assert log.append("config.changed", actor="owner", conn=conn) == 2
    assert log.size() == 3


def test_times_never_go_backwards(
    log: AuditLog, clock: StepClock, keys: list[str], device: NoteSigner
) -> None:
    log.append("a.b", actor="x")
    clock.now -= timedelta(hours=1)  # NTP stepped the clock back
    log.append("a.b", actor="x")
    log.append_many([("a.b", {"actor": "x"})] * 3)
    times = [e["time"] for _, e in log.entries()]
    assert times == sorted(times) and times[0] == times[1]
    log.checkpoint([device])
    assert log.verify(keys).ok


def test_append_many_stores_the_same_tree_as_single_appends(
    log: AuditLog, engine: Engine, fill: Fill
) -> None:
    for i in range(5):
        log.append("x.y", actor="a", details={"i": i})
    fill(60)
    for i in range(6):
        log.append("x.y", actor="a", details={"i": i})
    n = log.size()
    assert n == 71
    leaves = [merkle.leaf_hash(log.entry(i)) for i in range(n)]
    expected: dict[tuple[int, int], bytes] = {}
    rng = merkle.CompactRange()
    for h in leaves:
        for level, pos, value in rng.append(h):
            if level:
                expected[level, pos] = value
    with engine.connect() as conn:
        stored = {
            (lv, p): bytes(h)
            for lv, p, h in conn.execute(text("SELECT level, pos, hash FROM audit_node"))
        }
        cached = [
            bytes(r[0])
            for r in conn.execute(text("SELECT leaf_hash FROM audit_entry ORDER BY idx"))
        ]
    assert stored == expected
    assert cached == leaves
    for size in range(n + 1):
        assert log.root(size) == merkle.root_from_leaves(leaves[:size])


def test_entries_pages(log: AuditLog, fill: Fill) -> None:
    fill(25)
    assert [i for i, _ in log.entries(page=4)] == list(range(25))
    assert [i for i, _ in log.entries(since=20, page=3)] == [20, 21, 22, 23, 24]
    assert [i for i, _ in log.entries(since=3, limit=5, page=2)] == [3, 4, 5, 6, 7]
    assert list(log.entries(since=25)) == []
    assert all(e["index"] == i for i, e in log.entries())


def test_checkpoints(
    log: AuditLog, fill: Fill, device: NoteSigner, owner: NoteSigner, keys: list[str]
) -> None:
    assert log.latest_checkpoint() is None
    empty = log.checkpoint([device])
    assert empty is not None
    cp, names = open_checkpoint(empty, keys)
    assert (cp.origin, cp.size, cp.root, names) == (ORIGIN, 0, merkle.EMPTY_ROOT, [device.name])
    fill(7)
    note = log.checkpoint([device])
    assert note is not None and log.checkpoint([device]) is None  # nothing new
    latest = log.latest_checkpoint()
    assert latest is not None and latest.note == note and latest.size == 7
    assert latest.root == log.root(7) and latest.created_at.endswith("Z")
    # The owner unlocks: the same tree is signed again, by both.
    both = log.checkpoint([device, owner])
    assert both is not None and open_checkpoint(both, keys)[1] == [device.name, owner.name]
    assert log.checkpoint([device]) is None  # a subset adds nothing
    assert log.checkpoint([owner, device]) is None
    fill(1, 7)
    assert log.checkpoint([device]) is not None
    assert [c.size for c in log.checkpoints()] == [0, 7, 7, 8]
    with pytest.raises(ValueError):
        log.checkpoint([])
    report = log.verify(keys)
    assert report.ok and report.checkpoints_checked == 4 and report.size == 8


def test_checkpoint_refuses_to_sign_a_shorter_or_rewritten_log(
    log: AuditLog, fill: Fill, device: NoteSigner, db_path: Path
) -> None:
    import sqlite3

    fill(10)
    log.checkpoint([device])
    with sqlite3.connect(db_path) as db:
        db.execute("DELETE FROM audit_entry WHERE idx >= 8")
    with pytest.raises(IntegrityError, match="shorter"):
        log.checkpoint([device])
    with pytest.raises(IntegrityError, match="already exists"):
        fill(2, 8)  # the node over [8, 10) is still there
    with sqlite3.connect(db_path) as db:
        db.execute("DELETE FROM audit_node WHERE ((pos + 1) << level) > 8")
    fill(5, 8)  # back to 13 entries, but 8 and 9 are not the signed ones
    with pytest.raises(IntegrityError, match="no longer match"):
        log.checkpoint([device])


def test_inclusion_and_consistency_proofs_verify(log: AuditLog, fill: Fill) -> None:
    fill(37)
    sizes = range(38)
    roots = {n: log.root(n) for n in sizes}
    for n in sizes:
        for i in range(n):
            proof = log.inclusion_proof(i, n)
            assert merkle.verify_inclusion(merkle.leaf_hash(log.entry(i)), i, n, proof, roots[n])
        for m in range(n + 1):
            proof = log.consistency_proof(m, n)
            assert merkle.verify_consistency(m, n, roots[m], roots[n], proof)
    assert log.inclusion_proof(3) == log.inclusion_proof(3, 37)
    assert log.consistency_proof(5) == log.consistency_proof(5, 37)
    for bad in ((37, None), (0, 38), (-1, 5), (5, 5)):
        with pytest.raises(NotFound):
            log.inclusion_proof(*bad)
    for bad in ((5, 38), (6, 5), (-1, 3)):
        with pytest.raises(NotFound):
            log.consistency_proof(*bad)
    with pytest.raises(NotFound):
        log.root(38)


def test_prove_gives_an_offline_verifiable_tlog_proof(
    log: AuditLog, fill: Fill, device: NoteSigner, owner: NoteSigner, keys: list[str]
) -> None:
    fill(3)
    with pytest.raises(NotFound, match="no checkpoint"):
        log.prove(0)
    log.checkpoint([device, owner])
    fill(2, 3)
    with pytest.raises(NotFound, match="not covered"):
        log.prove(3)
    for i in range(3):
        text_ = log.prove(i)
        assert parse_inclusion_proof(text_).checkpoint == log.latest_checkpoint().note  # type: ignore[union-attr]
        result = verify_entry_inclusion(
            log.entry(i), text_, [owner.verifier_key()], required_signer=owner.name
        )
        assert result.ok, result.reason
        assert not verify_entry_inclusion(log.entry(i + 1), text_, keys).ok


def test_consistency_between_stored_checkpoints(
    log: AuditLog, fill: Fill, device: NoteSigner, keys: list[str]
) -> None:
    fill(11)
    old = log.checkpoint([device])
    fill(20, 11)
    new = log.checkpoint([device])
    assert old and new
    assert verify_checkpoint_consistency(old, new, log.consistency_proof(11, 31), keys).ok


def test_verify_a_clean_log(
    log: AuditLog, fill: Fill, device: NoteSigner, owner: NoteSigner, keys: list[str]
) -> None:
    report = log.verify(keys)
    assert report.ok and report.size == 0 and report.checkpoints_checked == 0
    log.checkpoint([device])
    for start in range(0, 90, 30):
        fill(30, start)
        log.checkpoint([device, owner] if start else [device])
    report = log.verify(keys)
    assert report.ok, report.reason
    assert (report.size, report.checkpoints_checked, report.first_bad_index) == (90, 4, None)
    assert log.verify([owner.verifier_key()]).reason.startswith("checkpoint #1 (size 0)")
    assert not log.verify([]).ok
    assert "bad verifier key" in log.verify(["nonsense"]).reason


def test_verify_in_worker_processes_agrees(
    log: AuditLog, fill: Fill, device: NoteSigner, keys: list[str]
) -> None:
    fill(150)
    log.checkpoint([device])
    fill(21, 150)
    log.checkpoint([device])
    one = log.verify(keys, workers=1, chunk=16)
    two = log.verify(keys, workers=2, chunk=16)
    assert one == two and one.ok and one.size == 171 and one.checkpoints_checked == 2


def test_two_processes_appending_at_once_never_collide(
    db_path: Path, log: AuditLog, device: NoteSigner, keys: list[str]
) -> None:
    log.append("daemon.started", actor="daemon")
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from vault.catalog.db import open_catalog
        from vault.audit.log import AuditLog
        log = AuditLog(open_catalog(Path({str(db_path)!r})), {ORIGIN!r}, events=None)
        for i in range(60):
            log.append("clip.viewed", actor=sys.argv[1], details={{"i": i}})
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, who]) for who in ("daemon", "cli")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert log.size() == 121
    actors = [e["actor"] for _, e in log.entries(since=1)]
    assert actors.count("daemon") == actors.count("cli") == 60
    log.checkpoint([device])
    assert log.verify(keys).ok
