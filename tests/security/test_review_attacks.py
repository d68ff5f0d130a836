"""Review attacks on the signed-decision change, with the attacker's powers only.

The attacker can write every file of the vault (raw sqlite3 edits of
catalog.db, file edits and swaps, ringfence's own code run without the
passphrase) but does not know the passphrase. Each test performs one attack
and asserts the protection holds; a failing test is an attack that works.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
import tomli_w

from tests.requests.test_service import REQ, ingest
from tests.tools import PASSPHRASE
from vault import age
from vault.config import owner_head_path
from vault.errors import IntegrityError, PolicyError, RingfenceError
from vault.service import Vault

ATTACKER = age.X25519Identity.generate()


def _sql(vault: Vault, *statements: str | tuple[str, tuple[object, ...]]) -> None:
    db = sqlite3.connect(vault.layout.catalog)
    with db:
        for s in statements:
            sql, params = (s, ()) if isinstance(s, str) else s
            db.execute(sql, params)
    db.close()


def _one(vault: Vault, sql: str, params: tuple[object, ...] = ()) -> tuple[object, ...]:
    db = sqlite3.connect(vault.layout.catalog)
    try:
        return tuple(db.execute(sql, params).fetchone())
    finally:
        db.close()


def _types(vault: Vault) -> list[str]:
    return [e["type"] for _i, e in vault.audit.entries()]


# --- 1. age delivery: the clip's header and payload are not signed -------------------


def test_age_export_delivers_an_unapproved_clip_swapped_in_by_header_and_payload(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    """The owner approves clip A only; the attacker gives A's row B's header and
    A's store file B's payload. The age export re-wraps whatever header it finds
    and copies whatever payload it finds, checking no plaintext hash: the
    requester decrypts clip B, which nobody approved."""
    ingest(vault, camera, n=2)
    rid = vault.requests.add({**REQ, "recipient": str(ATTACKER.recipient)})
    a, b = vault.requests.scope_clips(rid)
    vault.requests.decide(rid, approve=True, reason="only the first", clips=[a.id])

    _sql(
        vault,
        (
            "UPDATE clip SET header = (SELECT header FROM clip WHERE id = ?) WHERE id = ?",
            (b.id, a.id),
        ),
    )
    shutil.copyfile(vault.store.path(b.id), vault.store.path(a.id))

    out = tmp_path / "out"
    try:
        vault.releases.export(rid, out, fmt="age")
    except RingfenceError:
        return  # the swap was caught: nothing left
    [delivered] = list((out / "clips").rglob("*.age"))
    plain = age.decrypt_bytes(delivered.read_bytes(), [ATTACKER])
    assert hashlib.sha256(plain).hexdigest() != b.sha256, (
        "the requester received clip B, which the owner never approved"
    )


# --- 2. a signed approval replayed after the owner reopened and refused -------------


def test_a_signed_approval_revived_after_a_reopen_and_a_refusal(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    """The owner approves and signs. The attacker edits the catalog so export says
    "decide again"; the owner reopens (as the message tells them) and this time
    refuses. The attacker then puts the old decision rows back: the old
    ``request.decided`` entry still verifies, nothing checks that a later
    reopen and refusal overturned it, and export even signs a fresh receipt."""
    ingest(vault, camera, n=1)
    rid = vault.requests.add(REQ)
    vault.requests.decide(rid, approve=True, reason="ok")
    old_dec = _one(
        vault,
        "SELECT id, outcome, reason, terms, expires_at, decided_at, "
        "audit_index FROM decision WHERE request_id = ?",
        (rid,),
    )
    old_clips = _one(
        vault,
        "SELECT decision_id, clip_id, camera, captured_at, size, sha256 "
        "FROM decision_clip WHERE decision_id = ?",
        (old_dec[0],),
    )

    # Make the signed decision look broken, so that the owner reopens it.
    _sql(vault, ("UPDATE request SET reason = 'tampered' WHERE id = ?", (rid,)))
    with pytest.raises(IntegrityError, match="reopen"):
        vault.releases.export(rid, tmp_path / "first")
    vault.requests.reopen(rid, "export said to decide again")
    # Put the reason back, so the owner's new decision matches what was filed.
    _sql(vault, ("UPDATE request SET reason = ? WHERE id = ?", (REQ["reason"], rid)))
    vault.requests.decide(rid, approve=False, reason="on reflection, no")
    assert vault.requests.get(rid).status == "refused"

    # The attacker restores the approval the owner overturned.
    _sql(
        vault,
        (
            "DELETE FROM decision_clip WHERE decision_id IN "
            "(SELECT id FROM decision WHERE request_id = ?)",
            (rid,),
        ),
        ("DELETE FROM decision WHERE request_id = ?", (rid,)),
        (
            "INSERT INTO decision (id, request_id, outcome, reason, terms, expires_at, "
            "decided_at, audit_index, receipt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '')",
            (old_dec[0], rid, *old_dec[1:]),
        ),
        (
            "INSERT INTO decision_clip (decision_id, clip_id, camera, captured_at, size, sha256) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            old_clips,
        ),
        ("UPDATE request SET status = 'approved' WHERE id = ?", (rid,)),
    )

    out = tmp_path / "out"
    with pytest.raises(RingfenceError):
        vault.releases.export(rid, out)
    assert not out.exists()
    assert "clip.released" not in _types(vault)


# --- 3. the expression indexes are the attacker's to fill ---------------------------


def _index_without(vault: Vault, hidden_idx: int) -> None:
    """Rebuild both expression indexes without the entry *hidden_idx*, then make the
    schema say they are complete (PRAGMA writable_schema): SQLite trusts an
    index's b-tree, so about() never sees that entry. `audit verify` reads the
    table, not the indexes, and the entry's bytes are untouched."""
    db = sqlite3.connect(vault.layout.catalog)
    names = ("ix_audit_entry_entry_type", "ix_audit_entry_entry_subject")
    original = {
        n: db.execute("SELECT sql FROM sqlite_schema WHERE name = ?", (n,)).fetchone()[0]
        for n in names
    }
    with db:
        for n in names:
            db.execute(f"DROP INDEX {n}")
            db.execute(f"{original[n]} WHERE idx != {int(hidden_idx)}")
    db.execute("PRAGMA writable_schema = ON")
    with db:
        for n in names:
            db.execute("UPDATE sqlite_schema SET sql = ? WHERE name = ?", (original[n], n))
    db.execute("PRAGMA writable_schema = OFF")
    db.close()


def test_a_withdrawal_hidden_from_the_expression_indexes_is_revived(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    ingest(vault, camera, n=1)
    rid = vault.requests.add(REQ)
    vault.requests.decide(rid, approve=True, reason="ok")
    vault.requests.withdraw(rid, "case closed")
    ingest(vault, camera, n=1)  # life goes on: the withdrawal is not the last entry
    [withdrawn] = [i for i, e in vault.audit.entries() if e["type"] == "request.withdrawn"]
    _sql(vault, ("UPDATE request SET status = 'approved' WHERE id = ?", (rid,)))
    _index_without(vault, withdrawn)

    owner = Vault.open(vault.root)  # a fresh process of the owner's
    owner.unlock(PASSPHRASE)
    try:
        assert owner.audit.verify(owner.verifier_keys())  # nothing to see in the log
        out = tmp_path / "out"
        with pytest.raises(RingfenceError):
            owner.releases.export(rid, out)
        assert not out.exists()
    finally:
        owner.close()


def test_a_hold_hidden_from_the_expression_indexes_lets_retention_shred(
    vault: Vault, camera: Path
) -> None:
    ingest(vault, camera, n=1)
    [clip] = vault.clips.all()
    hold = vault.holds.add(
        "front",
        clip.captured_at - timedelta(minutes=1),
        clip.captured_at + timedelta(minutes=1),
        "insurance claim",
    )
    [added] = [i for i, e in vault.audit.entries() if e["type"] == "hold.added"]
    _sql(vault, ("DELETE FROM hold WHERE id = ?", (hold,)))
    _index_without(vault, added)

    intruder = Vault.open(vault.root)
    try:
        with pytest.raises(PolicyError, match="held by"):
            intruder.retention.shred(clip.id, "make room")
    finally:
        intruder.close()
    assert vault.clips.get(clip.id).shredded is False


# --- 4. holds: the log's word replaces the catalog's, and releasing needs no key ---


def test_a_forged_hold_released_entry_releases_the_hold(vault: Vault, camera: Path) -> None:
    """A `hold.released` entry appended with the vault's own code (no key): the
    catalog's unreleased hold row is then ignored, since the log's view of a
    hold it knows replaces the catalog's instead of adding to it."""
    ingest(vault, camera, n=1)
    [clip] = vault.clips.all()
    hold = vault.holds.add(
        "front",
        clip.captured_at - timedelta(minutes=1),
        clip.captured_at + timedelta(minutes=1),
        "insurance claim",
    )
    intruder = Vault.open(vault.root)
    try:
        intruder.audit.append("hold.released", actor="owner", subject=hold, details={"reason": "x"})
        assert _one(vault, "SELECT released_at FROM hold WHERE id = ?", (hold,)) == (None,)
        with pytest.raises(PolicyError, match="held by"):
            intruder.retention.shred(clip.id, "make room")
    finally:
        intruder.close()


def test_releasing_a_hold_needs_no_passphrase(vault: Vault, camera: Path) -> None:
    """`ringfence hold release` opens the vault without unlocking it."""
    ingest(vault, camera, n=1)
    [clip] = vault.clips.all()
    hold = vault.holds.add(
        "front",
        clip.captured_at - timedelta(minutes=1),
        clip.captured_at + timedelta(minutes=1),
        "insurance claim",
    )
    intruder = Vault.open(vault.root)
    try:
        assert not intruder.unlocked
        with pytest.raises(RingfenceError):
            intruder.holds.release(hold, "not needed")
        with pytest.raises(PolicyError, match="held by"):
            intruder.retention.shred(clip.id, "make room")
    finally:
        intruder.close()


# --- 5. the owner's head file is found through config.toml --------------------------


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


def test_a_cut_back_hidden_by_a_new_vault_id_in_config_toml(vault: Vault, camera: Path) -> None:
    """The head's path is built from config.toml's `vault.id`, which the attacker
    writes (the daemon's user can rename a file over config.toml even in the
    two-user deployment). A new id points at a head that does not exist, and a
    vault with no head is checked against nothing."""
    ingest(vault, camera, n=2)
    early = vault.audit.size()
    vault.checkpoint()
    rid = vault.requests.add(REQ)
    vault.requests.decide(rid, approve=True, reason="ok")  # owner-signed, and kept as the head
    assert owner_head_path(vault.config.vault_id).exists()
    _cut_back(vault, early)

    doc = tomllib.loads(vault.layout.config.read_text())
    doc["vault"]["id"] = "somewhere-else"
    vault.layout.config.write_bytes(tomli_w.dumps(doc).encode())

    owner = Vault.open(vault.root)
    try:
        report = owner.audit.verify(owner.verifier_keys())
        assert not report, "the owner's `audit verify` passes on a log that was cut back"
    finally:
        owner.close()
