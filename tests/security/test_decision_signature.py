"""Attacks on the owner's authority, with the attacker's powers only.

The attacker can write every file of the vault (raw SQLite edits of
catalog.db, and the vault's own code run without the passphrase) but does not
know the passphrase. None of these attacks may release a clip, and none may
get the owner's key to sign a receipt over what the owner did not decide.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.requests.test_service import REQ, ingest
from tests.tools import PASSPHRASE
from vault import age
from vault.errors import IntegrityError, PolicyError
from vault.service import Vault

ATTACKER = age.X25519Identity.generate()


def _sql(vault: Vault, sql: str, params: tuple[object, ...] = ()) -> None:
    db = sqlite3.connect(vault.layout.catalog)
    with db:
        db.execute(sql, params)
    db.close()


def _types(vault: Vault) -> list[str]:
    return [e["type"] for _i, e in vault.audit.entries()]


def _released_nothing(vault: Vault, out: Path) -> None:
    assert not out.exists()
    assert "clip.released" not in _types(vault)
    assert "export.created" not in _types(vault)


def _attacker(vault: Vault) -> Vault:
    """The vault as malware running as the same user sees it: open, never unlocked."""
    return Vault.open(vault.root)


def _forge_approval(vault: Vault, rid: str, clip_ids: list[str]) -> None:
    """Record an approval the owner never gave: rows, status and a decision entry."""
    intruder = _attacker(vault)
    clips = {c.id: c for c in vault.clips.all()}
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    index = intruder.audit.append(
        "request.decided",
        actor="owner",
        subject=rid,
        details={
            "decision": "dec_forged",
            "outcome": "approved",
            "reason": "ok",
            "terms": None,
            "expires_at": None,
            "clips": [{"id": c, "sha256": clips[c].sha256} for c in clip_ids],
            "in_scope": len(clip_ids),
        },
    )
    intruder.checkpoint()  # the device key lives in the vault: the attacker can sign
    intruder.close()
    _sql(vault, "UPDATE request SET status = 'approved' WHERE id = ?", (rid,))
    _sql(
        vault,
        "INSERT INTO decision (id, request_id, outcome, reason, decided_at, "
        "audit_index, receipt) VALUES ('dec_forged', ?, 'approved', 'ok', ?, ?, '')",
        (rid, now, index),
    )
    for c in clip_ids:
        _sql(
            vault,
            "INSERT INTO decision_clip SELECT 'dec_forged', id, 'front', captured_at, "
            "size, sha256 FROM clip WHERE id = ?",
            (c,),
        )


def _owner_signed_sizes(vault: Vault) -> list[int]:
    from vault.audit.note import NoteError, open_checkpoint

    owner = vault.config.owner_verifier
    sizes = []
    for cp in vault.audit.checkpoints():
        try:
            open_checkpoint(cp.note, [owner])
        except (NoteError, IntegrityError):
            continue
        sizes.append(cp.size)
    return sizes


def test_a_forged_approval_releases_nothing_and_is_never_signed(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    ingest(vault, camera, n=3)
    rid = vault.requests.add(REQ)
    _forge_approval(vault, rid, [c.id for c in vault.requests.scope_clips(rid)])
    out = tmp_path / "out"
    with pytest.raises(IntegrityError, match="owner's valid signature") as caught:
        vault.releases.export(rid, out)
    assert f"ringfence request reopen {rid}" in caught.value.message
    _released_nothing(vault, out)
    # No receipt was signed for the forged decision.
    with vault.reader.connect() as conn:
        assert conn.exec_driver_sql("SELECT receipt FROM decision").scalar() == ""


def test_a_forged_approval_can_be_reopened_and_decided_by_the_owner(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    ingest(vault, camera, n=2)
    rid = vault.requests.add(REQ)
    scope = [c.id for c in vault.requests.scope_clips(rid)]
    _forge_approval(vault, rid, scope)
    vault.requests.reopen(rid, "I never approved this")
    assert vault.requests.get(rid).status == "pending"
    vault.requests.decide(rid, approve=True, reason="looked at it", clips=scope[:1])
    result = vault.releases.export(rid, tmp_path / "out")
    assert [c["id"] for c in result.receipt["clips"]] == scope[:1]
    assert "request.reopened" in _types(vault)


def test_a_signed_decision_cannot_be_reopened(vault: Vault, camera: Path) -> None:
    ingest(vault, camera, n=1)
    rid = vault.requests.add(REQ)
    vault.requests.decide(rid, approve=True, reason="ok")
    with pytest.raises(PolicyError, match="the owner signed"):
        vault.requests.reopen(rid, "try")


def test_a_partial_approval_widened_in_the_catalog_and_the_log_releases_nothing(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    """Widen from 1 clip to all: decision rows, the entry's clip list and its signed part."""
    from vault.canonical import canonical_json, parse_canonical

    ingest(vault, camera, n=4)
    rid = vault.requests.add(REQ)
    scope = vault.requests.scope_clips(rid)
    vault.requests.decide(rid, approve=True, reason="one", clips=[scope[0].id])
    with vault.reader.connect() as conn:
        index, dec_id = conn.exec_driver_sql(
            "SELECT audit_index, id FROM decision WHERE request_id = ?", (rid,)
        ).one()
    entry = parse_canonical(vault.audit.entry(index))
    entry["details"]["clips"] = [{"id": c.id, "sha256": c.sha256} for c in scope]
    entry["details"]["signed"]["clips"] = [
        {
            "id": c.id,
            "camera": "front",
            "captured_at": c.captured_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "size": c.size,
            "sha256": c.sha256,
        }
        for c in scope
    ]
    entry["details"]["signed"]["decision"]["outcome"] = "approved"
    _sql(vault, "UPDATE audit_entry SET entry = ? WHERE idx = ?", (canonical_json(entry), index))
    _sql(vault, "UPDATE decision SET outcome = 'approved', receipt = '' WHERE id = ?", (dec_id,))
    _sql(vault, "UPDATE request SET status = 'approved' WHERE id = ?", (rid,))
    for c in scope[1:]:
        _sql(
            vault,
            "INSERT INTO decision_clip SELECT ?, id, 'front', captured_at, size, sha256 "
            "FROM clip WHERE id = ?",
            (dec_id, c.id),
        )
    out = tmp_path / "out"
    with pytest.raises(IntegrityError, match="signature does not verify"):
        vault.releases.export(rid, out)
    _released_nothing(vault, out)


def test_a_swapped_recipient_after_the_decision_releases_nothing(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    ingest(vault, camera, n=1)
    owner_side = age.X25519Identity.generate()
    rid = vault.requests.add({**REQ, "recipient": str(owner_side.recipient)})
    vault.requests.decide(rid, approve=True, reason="ok")
    _sql(vault, "UPDATE request SET recipient = ? WHERE id = ?", (str(ATTACKER.recipient), rid))
    out = tmp_path / "out"
    with pytest.raises(IntegrityError, match="request.recipient"):
        vault.releases.export(rid, out, fmt="age")
    _released_nothing(vault, out)


def test_a_swapped_recipient_before_the_decision_cannot_be_signed(
    vault: Vault, camera: Path
) -> None:
    ingest(vault, camera, n=1)
    rid = vault.requests.add({**REQ, "recipient": str(age.X25519Identity.generate().recipient)})
    _sql(vault, "UPDATE request SET recipient = ? WHERE id = ?", (str(ATTACKER.recipient), rid))
    with pytest.raises(IntegrityError, match="differs from what was filed.*recipient"):
        vault.requests.decide(rid, approve=True, reason="ok")
    assert vault.requests.get(rid).status == "pending"
    assert "request.decided" not in _types(vault)


@pytest.mark.parametrize(
    "column, value",
    [
        ("requester", "Chief Constable"),
        ("organisation", "Another Force"),
        ("basis", "court-order"),
        ("reason", "a different case"),
        ("scope_to", "2200-01-01 00:00:00.000000"),
    ],
)
def test_a_request_edited_after_the_decision_releases_nothing(
    vault: Vault, camera: Path, tmp_path: Path, column: str, value: str
) -> None:
    ingest(vault, camera, n=1)
    rid = vault.requests.add(REQ)
    vault.requests.decide(rid, approve=True, reason="ok")
    _sql(vault, f"UPDATE request SET {column} = ? WHERE id = ?", (value, rid))
    out = tmp_path / "out"
    with pytest.raises(IntegrityError, match="differs from the one the owner signed"):
        vault.releases.export(rid, out)
    _released_nothing(vault, out)


@pytest.mark.parametrize("drop_indexes", [False, True])
def test_a_renamed_withdrawal_still_stops_the_release(
    vault: Vault, camera: Path, tmp_path: Path, drop_indexes: bool
) -> None:
    ingest(vault, camera, n=1)
    rid = vault.requests.add(REQ)
    vault.requests.decide(rid, approve=True, reason="ok")
    vault.requests.withdraw(rid, "case closed")
    _sql(vault, "UPDATE request SET status = 'approved' WHERE id = ?", (rid,))
    _sql(vault, "UPDATE audit_entry SET type = 'note' WHERE type = 'request.withdrawn'")
    if drop_indexes:  # the lookups' indexes only make them fast
        _sql(vault, "DROP INDEX ix_audit_entry_entry_type")
        _sql(vault, "DROP INDEX ix_audit_entry_entry_subject")
    out = tmp_path / "out"
    with pytest.raises(IntegrityError, match="request.withdrawn"):
        vault.releases.export(rid, out)
    _released_nothing(vault, out)


def test_a_crash_before_the_receipt_was_stored_heals_only_a_signed_decision(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    ingest(vault, camera, n=2)
    rid = vault.requests.add(REQ)
    scope = [c.id for c in vault.requests.scope_clips(rid)]
    vault.requests.decide(rid, approve=True, reason="one", clips=scope[:1])
    before = _owner_signed_sizes(vault)
    _sql(vault, "UPDATE decision SET receipt = ''")  # as if the vault stopped right there
    result = vault.releases.export(rid, tmp_path / "out")
    assert [c["id"] for c in result.receipt["clips"]] == scope[:1]
    assert vault.requests.decision_receipt(rid)["decision"]["outcome"] == "partly_approved"
    assert len(_owner_signed_sizes(vault)) > len(before)


def test_a_released_hold_in_the_catalog_still_holds(vault: Vault, camera: Path) -> None:
    ingest(vault, camera, n=1)
    [clip] = vault.clips.all()
    hold = vault.holds.add(
        "front",
        clip.captured_at - timedelta(minutes=1),
        clip.captured_at + timedelta(minutes=1),
        "insurance claim",
    )
    _sql(
        vault,
        "UPDATE hold SET released_at = '2026-01-01 00:00:00.000000', "
        "release_reason = 'x' WHERE id = ?",
        (hold,),
    )
    with pytest.raises(PolicyError, match="held by"):
        vault.retention.shred(clip.id, "make room")
    _sql(vault, "DELETE FROM hold WHERE id = ?", (hold,))
    with pytest.raises(PolicyError, match="held by"):
        vault.retention.shred(clip.id, "make room")
    assert vault.clips.get(clip.id).shredded is False


def test_a_request_marked_withdrawn_in_the_catalog_still_holds(vault: Vault, camera: Path) -> None:
    ingest(vault, camera, n=1)
    [clip] = vault.clips.all()
    rid = vault.requests.add(REQ)
    _sql(
        vault,
        "UPDATE request SET status = 'withdrawn', updated_at = '2000-01-02 00:00:00' WHERE id = ?",
        (rid,),
    )
    with pytest.raises(PolicyError, match="held by"):
        vault.retention.shred(clip.id, "make room")


def test_the_cli_says_how_to_decide_again(vault: Vault, camera: Path, tmp_path: Path) -> None:
    from tests.tools import run_cli

    ingest(vault, camera, n=1)
    rid = vault.requests.add(REQ)
    _forge_approval(vault, rid, [c.id for c in vault.requests.scope_clips(rid)])
    res = run_cli(vault.root, "export", rid, "--out", str(tmp_path / "out"), check=False)
    assert res.returncode == 6
    assert f"ringfence request reopen {rid}" in res.stderr
    assert "Traceback" not in res.stderr
    res = run_cli(vault.root, "request", "reopen", rid, "--reason", "not mine")
    assert res.returncode == 0, res.stderr
    res = run_cli(vault.root, "approve", rid, "--reason", "checked")
    assert res.returncode == 0, res.stderr
    res = run_cli(vault.root, "export", rid, "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    assert PASSPHRASE not in res.stdout + res.stderr
