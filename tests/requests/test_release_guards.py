"""What an export checks while it runs, and against what the owner signed."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.requests.test_service import REQ, ingest
from vault.errors import IllegalTransition, IntegrityError, PolicyError
from vault.service import Vault


def _partly_approved(vault: Vault, camera: Path, clips: int, approve: int) -> tuple[str, list[str]]:
    """A request over *clips* clips of which the first *approve* are approved."""
    ingest(vault, camera, n=clips)
    rid = vault.requests.add(REQ)
    scope = [c.id for c in vault.requests.scope_clips(rid)]
    vault.requests.decide(rid, approve=True, reason="some", clips=scope[:approve])
    return rid, scope


def _types(vault: Vault) -> list[str]:
    return [e["type"] for _i, e in vault.audit.entries()]


def _nothing_left(tmp_path: Path, out: Path) -> None:
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_withdrawn_during_the_export_releases_nothing(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    ingest(vault, camera, n=3)
    rid = vault.requests.add(REQ)
    vault.requests.decide(rid, approve=True, reason="ok")
    seen: list[str] = []

    def withdraw_after_the_first(_done: int, _total: int, clip_id: str) -> None:
        seen.append(clip_id)
        if len(seen) == 1:
            vault.requests.withdraw(rid, "the case was closed")

    out = tmp_path / "out"
    with pytest.raises(IllegalTransition, match="withdrawn"):
        vault.releases.export(rid, out, progress=withdraw_after_the_first)
    assert len(seen) == 1
    _nothing_left(tmp_path, out)
    types = _types(vault)
    assert "export.abandoned" in types
    assert "clip.released" not in types and "export.created" not in types


def test_an_approval_expiring_during_the_export_releases_nothing(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    ingest(vault, camera, n=2)
    rid = vault.requests.add(REQ)
    expires = datetime.now(UTC) + timedelta(hours=1)
    vault.requests.decide(rid, approve=True, reason="ok", expires=expires)

    def time_passes(_done: int, _total: int, _clip_id: str) -> None:
        vault.clock.set(lambda: expires + timedelta(seconds=1))

    out = tmp_path / "out"
    with pytest.raises(PolicyError, match="expired"):
        vault.releases.export(rid, out, progress=time_passes)
    _nothing_left(tmp_path, out)
    assert "export.created" not in _types(vault)


def test_a_clip_added_to_the_decision_in_the_catalog_is_not_released(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    rid, scope = _partly_approved(vault, camera, clips=3, approve=2)
    # Someone with write access to catalog.db (no passphrase) widens the approval.
    _widen_in_the_catalog(vault, rid, scope[2])
    out = tmp_path / "out"
    with pytest.raises(IntegrityError, match="differs from the one the owner signed"):
        vault.releases.export(rid, out)
    assert not out.exists()
    assert "clip.released" not in _types(vault)


@pytest.mark.parametrize("change", ["expiry", "outcome", "receipt"])
def test_other_changes_to_the_decision_rows_are_caught(
    vault: Vault, camera: Path, tmp_path: Path, change: str
) -> None:
    ingest(vault, camera, n=2)
    rid = vault.requests.add(REQ)
    vault.requests.decide(
        rid, approve=True, reason="ok", expires=datetime.now(UTC) + timedelta(days=1)
    )
    sql = {
        "expiry": "UPDATE decision SET expires_at = NULL",
        "outcome": "UPDATE decision SET outcome = 'partly_approved'",
        "receipt": "UPDATE decision SET receipt = replace(receipt, '\"ok\"', '\"OK\"')",
    }[change]
    db = sqlite3.connect(vault.layout.catalog)
    with db:
        db.execute(sql)
    db.close()
    with pytest.raises(IntegrityError, match="owner"):
        vault.releases.export(rid, tmp_path / "out")


def _widen_in_the_catalog(vault: Vault, rid: str, clip_id: str) -> None:
    db = sqlite3.connect(vault.layout.catalog)
    with db:
        db.execute(
            "INSERT INTO decision_clip SELECT d.id, c.id, 'front', c.captured_at, c.size, c.sha256"
            " FROM clip c, decision d WHERE c.id = ? AND d.request_id = ?",
            (clip_id, rid),
        )
    db.close()


def _blank_receipt(vault: Vault) -> None:
    db = sqlite3.connect(vault.layout.catalog)
    with db:
        db.execute("UPDATE decision SET receipt = ''")
    db.close()


def test_a_decision_whose_receipt_was_never_stored_is_proven_from_the_log_and_healed(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    """The vault stopped between recording the decision and storing its receipt."""
    rid, scope = _partly_approved(vault, camera, clips=2, approve=1)
    _blank_receipt(vault)
    result = vault.releases.export(rid, tmp_path / "out")
    assert [c["id"] for c in result.receipt["clips"]] == scope[:1]
    # The receipt was signed and stored again, so the signed check is back.
    healed = vault.requests.decision_receipt(rid)
    assert healed["decision"]["outcome"] == "partly_approved"
    _widen_in_the_catalog(vault, rid, scope[1])
    with pytest.raises(IntegrityError, match="differs"):
        vault.releases.export(rid, tmp_path / "again")


def test_blanking_the_receipt_and_rewriting_the_entry_releases_nothing(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    from vault.canonical import canonical_json, parse_canonical
    from vault.catalog.models import Decision

    ingest(vault, camera, n=3)
    rid = vault.requests.add(REQ)
    scope = vault.requests.scope_clips(rid)
    vault.requests.decide(rid, approve=True, reason="one", clips=[scope[0].id])
    with vault.reader.connect() as conn:
        index = (
            conn.execute(
                Decision.__table__.select().where(Decision.request_id == rid)  # type: ignore[attr-defined]
            )
            .first()
            .audit_index
        )
    entry = parse_canonical(vault.audit.entry(index))
    entry["details"]["clips"] = [{"id": c.id, "sha256": c.sha256} for c in scope]
    forged = canonical_json(entry)
    _blank_receipt(vault)
    db = sqlite3.connect(vault.layout.catalog)
    with db:
        db.execute("UPDATE audit_entry SET entry = ? WHERE idx = ?", (forged, index))
    db.close()
    for c in scope[1:]:
        _widen_in_the_catalog(vault, rid, c.id)
    out = tmp_path / "out"
    with pytest.raises(IntegrityError, match="differs from the one the owner signed"):
        vault.releases.export(rid, out)
    assert not out.exists()
    assert "clip.released" not in _types(vault)


def test_a_view_is_logged_before_the_clip_is_decrypted(vault: Vault, camera: Path) -> None:
    ingest(vault, camera, n=1)
    [clip] = vault.clips.all()
    blob = next(p for p in (vault.root / "store").rglob(f"{clip.id}*") if p.is_file())
    blob.chmod(0o600)
    data = bytearray(blob.read_bytes())
    data[-1] ^= 1  # the last chunk no longer authenticates
    blob.write_bytes(bytes(data))
    with pytest.raises(Exception, match="chunk|tag|authent"):
        vault.releases.view(clip.id, "looking")
    viewed = [e for _i, e in vault.audit.entries() if e["type"] == "clip.viewed"]
    assert [e["subject"] for e in viewed] == [clip.id]  # the attempt is on record


def test_a_withdrawal_undone_in_the_catalog_releases_nothing(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    ingest(vault, camera, n=1)
    rid = vault.requests.add(REQ)
    vault.requests.decide(rid, approve=True, reason="ok")
    vault.requests.withdraw(rid, "no longer needed")
    db = sqlite3.connect(vault.layout.catalog)
    with db:
        db.execute("UPDATE request SET status = 'approved' WHERE id = ?", (rid,))
    db.close()
    with pytest.raises(IntegrityError, match="request.withdrawn"):
        vault.releases.export(rid, tmp_path / "out")
    assert not (tmp_path / "out").exists()
