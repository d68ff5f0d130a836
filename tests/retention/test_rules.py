"""Retention against a real vault: what goes, what stays held, and for how long."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.retention.conftest import at, ingest, later
from vault.errors import NotFound, PolicyError, UsageError
from vault.service import Vault
from vault.timeutil import iso, utc_now


def shredded_ids(vault: Vault) -> set[str]:
    return {c.id for c in vault.clips.all(include_shredded=True) if c.shredded}


def file_request(vault: Vault, clip_time: Any, **extra: Any) -> str:
    return vault.requests.add(
        {
            "requester": "DC Smith",
            "organisation": "Met Police",
            "kind": "police",
            "basis": "warrant",
            "reason": "burglary",
            "cameras": ["front"],
            "from": iso(clip_time - timedelta(minutes=5)),
            "to": iso(clip_time + timedelta(minutes=5)),
            **extra,
        }
    )


def file_overdue(vault: Vault, clip_time: Any) -> str:
    """A request whose deadline has passed: filed, in the vault's eyes, before it did."""
    saved = vault.clock.now
    vault.clock.set(lambda: utc_now() - timedelta(hours=2))
    try:
        return file_request(vault, clip_time, deadline=iso(utc_now() - timedelta(hours=1)))
    finally:
        vault.clock.set(saved)


def test_old_clips_go_new_clips_and_forever_cameras_stay(
    vault: Vault, drop: Path, tmp_path: Path
) -> None:
    recent = utc_now().replace(microsecond=0) - timedelta(days=2)
    ids = ingest(vault, drop, [at(0), at(1), recent])
    forever = tmp_path / "drop" / "back"
    forever.mkdir()
    vault.cameras.add("back", forever, pattern="back_%Y%m%d_%H%M%S%z", retention_days=0)
    back = ingest(vault, forever, [at(0)], camera="back")

    report = vault.retention.run()

    assert {c["id"] for c in report.shredded} == {ids[at(0)], ids[at(1)]}
    assert shredded_ids(vault) == {ids[at(0)], ids[at(1)]}
    assert {c.id for c in vault.clips.all()} == {ids[recent], back[at(0)]}
    assert report.record is not None and not report.held
    assert all("keeps clips 30 day(s)" in c["why"] for c in report.shredded)
    for cid in (ids[at(0)], ids[at(1)]):
        assert not vault.store.exists(cid)
    assert vault.store.exists(ids[recent])
    assert vault.audit.verify(vault.verifier_keys()).ok


def test_setting_retention_to_zero_keeps_old_clips(vault: Vault, drop: Path) -> None:
    ingest(vault, drop, [at(0)])
    vault.cameras.change("front", retention_days=0)
    assert vault.retention.run().shredded == []
    assert len(vault.clips.all()) == 1


def test_retention_beyond_a_hundred_years_is_refused_and_never_breaks_a_run(
    vault: Vault, drop: Path
) -> None:
    import sqlite3

    ingest(vault, drop, [at(0)])
    for days in (36_501, 1_000_000, 10**15):
        with pytest.raises(UsageError, match="retention-days"):
            vault.cameras.change("front", retention_days=days)
    vault.cameras.change("front", retention_days=36_500)
    assert vault.retention.run().shredded == []
    # A value past the calendar (an older version, a hand edit) keeps the clip
    # and lets the run finish.
    db = sqlite3.connect(vault.layout.catalog)
    with db:
        db.execute("UPDATE camera SET retention_days = 3000000")
    db.close()
    assert vault.retention.run().shredded == []
    assert len(vault.clips.all()) == 1
    vault.retention.shred(
        vault.clips.all()[0].id, "the owner asked"
    )  # and the owner can still shred
    assert vault.clips.all() == []


def catalog_dump(vault: Vault) -> list[str]:
    raw = vault.engine.raw_connection()
    try:
        return list(raw.driver_connection.iterdump())  # type: ignore[union-attr]
    finally:
        raw.close()


def test_dry_run_changes_nothing(vault: Vault, drop: Path) -> None:
    ids = ingest(vault, drop, [at(0), at(1)])
    rid = file_overdue(vault, at(1))
    before = catalog_dump(vault)
    report = vault.retention.run(dry_run=True)
    assert report.dry_run and [c["id"] for c in report.shredded] == [ids[at(0)]]
    assert [c["id"] for c in report.held] == [ids[at(1)]]
    assert report.record is None and report.scrub is None
    assert catalog_dump(vault) == before
    assert all(vault.store.exists(cid) for cid in ids.values())
    assert vault.requests.get(rid).status == "expired"  # only because request() lapses it


def test_pending_request_holds_its_scope(vault: Vault, drop: Path) -> None:
    ids = ingest(vault, drop, [at(0), at(10)])
    rid = file_request(vault, at(0))
    report = vault.retention.run()
    assert shredded_ids(vault) == {ids[at(10)]}
    [held] = report.held
    assert held["id"] == ids[at(0)]
    assert held["held_by"] == [
        {"kind": "request", "id": rid, "reason": "pending, from DC Smith", "until": None}
    ]
    later(vault, 400)  # pending forever still holds
    assert vault.retention.run().shredded == []


def test_approved_not_exported_holds(vault: Vault, drop: Path) -> None:
    ids = ingest(vault, drop, [at(0)])
    rid = file_request(vault, at(0))
    vault.requests.decide(rid, approve=True, reason="warrant checked")
    later(vault, 100)
    assert vault.retention.run().shredded == []
    assert ids[at(0)] not in shredded_ids(vault)


@pytest.mark.parametrize("how", ["refused", "withdrawn", "expired"])
def test_closed_requests_hold_for_the_grace_period(vault: Vault, drop: Path, how: str) -> None:
    ids = ingest(vault, drop, [at(0)])
    if how == "expired":  # filed with a deadline that has passed: the run lapses it
        rid = file_overdue(vault, at(0))
    else:
        rid = file_request(vault, at(0))
        if how == "refused":
            vault.requests.decide(rid, approve=False, reason="no warrant")
        else:
            vault.requests.withdraw(rid, "solved")
    assert vault.retention.run().shredded == []
    assert vault.requests.get(rid).status == how
    later(vault, 6)
    assert vault.retention.run().held[0]["held_by"][0]["id"] == rid
    later(vault, 7.01)
    assert [c["id"] for c in vault.retention.run().shredded] == [ids[at(0)]]


def test_exported_request_holds_for_grace_after_export(
    vault: Vault, drop: Path, tmp_path: Path
) -> None:
    ids = ingest(vault, drop, [at(0)])
    rid = file_request(vault, at(0))
    vault.requests.decide(rid, approve=True, reason="ok")
    vault.releases.export(rid, tmp_path / "out")
    later(vault, 3)
    assert vault.retention.run().shredded == []
    later(vault, 7.01)
    assert [c["id"] for c in vault.retention.run().shredded] == [ids[at(0)]]
    # The approval still stands, but its clip is gone: a new export says so.
    vault.clock.set(utc_now)
    with pytest.raises(PolicyError, match="shredded"):
        vault.releases.export(rid, tmp_path / "again")


def test_manual_hold_without_until_then_release(vault: Vault, drop: Path) -> None:
    ids = ingest(vault, drop, [at(0), at(1)])
    hid = vault.holds.add(
        "front", at(0) - timedelta(hours=1), at(0) + timedelta(hours=1), "insurance claim 77"
    )
    assert [h.id for h in vault.holds.all()] == [hid]
    report = vault.retention.run()
    assert shredded_ids(vault) == {ids[at(1)]}
    assert report.held[0]["held_by"][0] == {
        "kind": "hold",
        "id": hid,
        "reason": "insurance claim 77",
        "until": None,
    }
    later(vault, 3650)
    assert vault.retention.run().shredded == []
    info = vault.holds.release(hid, "claim settled")
    assert info.state == "released" and info.release_reason == "claim settled"
    assert vault.holds.all() == [] and [h.id for h in vault.holds.all(include_released=True)] == [
        hid
    ]
    assert [c["id"] for c in vault.retention.run().shredded] == [ids[at(0)]]
    types = [e["type"] for _i, e in vault.audit.entries()]
    assert "hold.added" in types and "hold.released" in types


def test_manual_hold_with_until_lapses_by_itself(vault: Vault, drop: Path) -> None:
    ids = ingest(vault, drop, [at(0)])
    vault.holds.add(
        "front",
        at(0),
        at(0) + timedelta(seconds=1),
        "until the hearing",
        hold_until=utc_now() + timedelta(days=10),
    )
    later(vault, 9)
    assert vault.retention.run().shredded == []
    later(vault, 10.01)
    assert vault.holds.all() == []
    assert [h.state for h in vault.holds.all(include_released=True)] == ["lapsed"]
    assert [c["id"] for c in vault.retention.run().shredded] == [ids[at(0)]]


def test_hold_validation(vault: Vault, drop: Path) -> None:
    with pytest.raises(NotFound):
        vault.holds.add("nope", at(0), at(1), "x")
    with pytest.raises(UsageError):
        vault.holds.add("front", at(1), at(0), "x")
    with pytest.raises(UsageError):
        vault.holds.add("front", at(0), at(1), "  ")
    with pytest.raises(UsageError):
        vault.holds.add("front", at(0), at(1), "x", hold_until=utc_now() - timedelta(days=1))
    hid = vault.holds.add("front", at(0), at(1), "x")
    vault.holds.release(hid, "done")
    with pytest.raises(PolicyError, match="already released"):
        vault.holds.release(hid, "again")
    with pytest.raises(NotFound):
        vault.holds.release("hld_aaaaaaaaaaaaaaaa", "x")
    with pytest.raises(PolicyError, match="request"):
        vault.holds.release("req_aaaaaaaaaaaaaaaa", "x")


def test_request_holds_are_listed(vault: Vault, drop: Path) -> None:
    ingest(vault, drop, [at(0)])
    rid = file_request(vault, at(0))
    [h] = vault.holds.all()
    assert (h.kind, h.id, h.state, h.cameras, h.until) == (
        "request",
        rid,
        "active",
        ["front"],
        None,
    )
    vault.requests.decide(rid, approve=False, reason="no")
    [h] = vault.holds.all()
    assert h.until is not None and h.until > utc_now() + timedelta(days=6)


def test_owner_shred(vault: Vault, drop: Path, tmp_path: Path) -> None:
    ids = ingest(vault, drop, [at(0), at(1)])
    vault.lock()  # shredding needs no passphrase
    result = vault.retention.shred(ids[at(1)], "recorded by mistake")
    assert result.clip == ids[at(1)] and result.record.startswith("del_")
    assert ids[at(1)] not in {c.id for c in vault.clips.all()}
    assert vault.clips.get(ids[at(1)]).shredded
    with pytest.raises(PolicyError, match="shredded"):
        vault.clips.export_age(ids[at(1)], tmp_path / "x.age")
    with pytest.raises(PolicyError, match="already shredded"):
        vault.retention.shred(ids[at(1)], "again")
    with pytest.raises(NotFound):
        vault.retention.shred("clp_aaaaaaaaaaaaaaaa", "x")
    with pytest.raises(UsageError):
        vault.retention.shred(ids[at(0)], "")
    [entry] = [e for _i, e in vault.audit.entries() if e["type"] == "clip.shredded"]
    assert entry["subject"] == ids[at(1)] and entry["details"]["rule"] == "owner"
    assert entry["details"]["why"] == "recorded by mistake"


def test_owner_cannot_shred_a_held_clip(vault: Vault, drop: Path) -> None:
    ids = ingest(vault, drop, [at(0)])
    rid = file_request(vault, at(0))
    hid = vault.holds.add("front", at(0), at(0) + timedelta(seconds=1), "claim")
    with pytest.raises(PolicyError) as exc:
        vault.retention.shred(ids[at(0)], "tidy up")
    assert rid in exc.value.message and hid in exc.value.message
    assert not vault.clips.get(ids[at(0)]).shredded and vault.store.exists(ids[at(0)])


def test_viewing_a_shredded_clip_is_refused(vault: Vault, drop: Path) -> None:
    ids = ingest(vault, drop, [at(0)])
    vault.retention.run()
    with pytest.raises(PolicyError):
        vault.releases.view(ids[at(0)], "curious")


def test_records_listing_checks_each_signature(vault: Vault, drop: Path) -> None:
    import sqlite3

    from tests.tools import run_cli

    ingest(vault, drop, [at(0)])
    report = vault.retention.run()
    assert report.record is not None
    listed = run_cli(vault.root, "retention", "records")
    assert " ok " in listed.stdout and "BAD" not in listed.stdout
    db = sqlite3.connect(vault.layout.catalog)
    with db:  # someone rewrites the reason afterwards
        db.execute("UPDATE deletion_record SET record = replace(record, 'front', 'frunt')")
    db.close()
    res = run_cli(vault.root, "retention", "records", check=False)
    assert res.returncode == 6 and "BAD" in res.stdout
    assert f"deletion record {report.record}: " in res.stderr
    assert run_cli(vault.root, "retention", "records", "--json", check=False).returncode == 6


def test_an_open_request_s_hold_says_what_ends_it() -> None:
    """An approved request not yet exported holds while it is open: the message
    may not say "until it is decided" of a request that already is."""
    from vault.retention import HoldReason

    text = HoldReason("request", "req_1", "approved, from vault owner", None).describe()
    assert "decided" not in text
    assert "while it is open" in text and "exported" in text and "grace" in text
    assert HoldReason("hold", "hld_1", "insurance", None).describe().endswith("until released")
