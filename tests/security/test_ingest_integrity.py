"""Attacks on ingest and on the clips' integrity, with an attacker's powers
only: raw SQLite edits of catalog.db and file edits in the vault and the drop
folders, no passphrase.

Each test performs the attack and checks what stops it: ``clips verify``
finds every edited fact, recovery never deletes a payload the log (or a newer
catalog) knows, and the daemon never follows a drop folder swapped for a
symlink.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from tests.conftest import FAST_LOG_N
from tests.tools import PASSPHRASE, run_cli
from vault.errors import IntegrityError, StorageError, UsageError, VaultError
from vault.ingest.daemon import Daemon, DaemonOptions
from vault.service import Vault


def run_once(vault: Vault) -> Daemon:
    d = Daemon(vault, DaemonOptions(once=True, settle_seconds=0))
    assert d.run() == 0
    return d


@pytest.fixture
def sealed(tmp_path: Path) -> Iterator[tuple[Vault, Path, list[str]]]:
    """A vault with camera 'front' and three sealed clips."""
    v = Vault.init(tmp_path / "vault", PASSPHRASE, log_n=FAST_LOG_N)
    drop = tmp_path / "drop"
    drop.mkdir()
    v.cameras.add("front", drop)
    for i in range(3):
        (drop / f"c{i}.mp4").write_bytes(os.urandom(2000 + i))
    run_once(v)
    ids = [c.id for c in v.clips.all()]
    assert len(ids) == 3
    yield v, drop, ids
    v.close()


def sql(vault: Vault, statement: str, *params: object) -> None:
    """An edit of catalog.db as an attacker makes it: a plain SQLite connection."""
    db = sqlite3.connect(vault.layout.catalog, isolation_level=None)
    try:
        db.execute("PRAGMA foreign_keys=OFF")
        db.execute(statement, params)
    finally:
        db.close()


def problems_of(vault: Vault) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for p in vault.clips.verify().problems:
        found.setdefault(p.clip_id, []).append(p.problem)
    return found


# --- clips verify checks every logged fact ------------------------------------


def test_a_flipped_header_bit_fails_clips_verify(sealed: tuple[Vault, Path, list[str]]) -> None:
    vault, _drop, ids = sealed
    db = sqlite3.connect(vault.layout.catalog, isolation_level=None)
    (header,) = db.execute("SELECT header FROM clip WHERE id = ?", (ids[1],)).fetchone()
    flipped = bytearray(header)
    flipped[40] ^= 0x01
    db.execute("UPDATE clip SET header = ? WHERE id = ?", (bytes(flipped), ids[1]))
    db.close()
    result = run_cli(vault.root, "clips", "verify", check=False)
    assert result.returncode == IntegrityError.exit_code, result.stdout + result.stderr
    assert f"{ids[1]}: its age header differs from the one logged at sealing" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("column", "value", "field"),
    [
        ("captured_at", "2020-01-01 00:00:00.000000", "captured_at"),
        ("size", 1, "size"),
        ("payload_size", 1, "payload_size"),
        ("payload_sha256", "0" * 64, "payload_sha256"),
        ("original_name", "innocent.mp4", "name"),
    ],
)
def test_an_edited_clip_fact_fails_clips_verify(
    sealed: tuple[Vault, Path, list[str]], column: str, value: object, field: str
) -> None:
    vault, _drop, ids = sealed
    sql(vault, f"UPDATE clip SET {column} = ? WHERE id = ?", value, ids[0])
    found = problems_of(vault)
    assert (
        f"the catalog row differs from its clip.sealed audit entry in: {field}" in found[ids[0]]
    ), found
    assert set(found) == {ids[0]}


def test_a_clip_moved_to_another_camera_fails_clips_verify(
    sealed: tuple[Vault, Path, list[str]], tmp_path: Path
) -> None:
    vault, _drop, ids = sealed
    (tmp_path / "back").mkdir()
    vault.cameras.add("back", tmp_path / "back")
    sql(
        vault,
        "UPDATE clip SET camera_id = (SELECT id FROM camera WHERE name = 'back') WHERE id = ?",
        ids[2],
    )
    assert problems_of(vault) == {
        ids[2]: ["the catalog row differs from its clip.sealed audit entry in: camera"]
    }


def test_a_clip_marked_shredded_without_a_log_entry_fails_clips_verify(
    sealed: tuple[Vault, Path, list[str]],
) -> None:
    vault, _drop, ids = sealed
    # Hiding a clip from listings and exports (shredded_at) or destroying its
    # key (the header) by SQL leaves no clip.shredded entry behind.
    sql(vault, "UPDATE clip SET shredded_at = '2026-01-01 00:00:00.000000' WHERE id = ?", ids[0])
    sql(vault, "UPDATE clip SET header = NULL WHERE id = ?", ids[1])
    found = problems_of(vault)
    for victim in ids[:2]:
        assert found[victim] == [
            "the catalog marks it shredded (shredded_at or no header), but the audit log "
            "has no clip.shredded entry"
        ]
    assert ids[2] not in found


def test_a_shredded_clip_marked_live_again_fails_clips_verify(
    sealed: tuple[Vault, Path, list[str]],
) -> None:
    vault, _drop, ids = sealed
    vault.retention.shred(ids[0], "owner's choice")
    assert problems_of(vault) == {}
    sql(vault, "UPDATE clip SET shredded_at = NULL WHERE id = ?", ids[0])
    assert problems_of(vault) == {
        ids[0]: [
            "the audit log says it was shredded, but the catalog row does not "
            "(shredded_at or header)"
        ]
    }


def test_a_deleted_clip_row_fails_clips_verify(sealed: tuple[Vault, Path, list[str]]) -> None:
    vault, _drop, ids = sealed
    sql(vault, "DELETE FROM clip WHERE id = ?", ids[1])
    result = run_cli(vault.root, "clips", "verify", "--json", check=False)
    assert result.returncode == IntegrityError.exit_code
    report = json.loads(result.stdout)
    assert report["problems"] == [
        {
            "id": ids[1],
            "problem": "the audit log recorded its sealing, but its catalog row is gone (its "
            "payload is still in the store)",
        }
    ]
    status = json.loads(run_cli(vault.root, "status", "--json").stdout)
    assert status["unknown_payloads"] == [ids[1]]


def test_a_clip_sealed_during_clips_verify_is_no_false_alarm(
    sealed: tuple[Vault, Path, list[str]],
) -> None:
    """The daemon seals a clip right after verify read the catalog's clip
    rows and before it reads the log: one snapshot means neither is seen."""
    vault, drop, _ids = sealed
    (drop / "late.mp4").write_bytes(os.urandom(3000))
    fired: list[bool] = []

    def seal_now(_conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if not fired and "FROM clip LEFT OUTER JOIN camera" in statement:
            fired.append(True)
            other = Vault.open(vault.root, actor="daemon")
            try:
                run_once(other)
            finally:
                other.close()

    event.listen(vault.engine, "after_cursor_execute", seal_now)
    try:
        check = vault.clips.verify()
    finally:
        event.remove(vault.engine, "after_cursor_execute", seal_now)
    assert fired and not (drop / "late.mp4").exists()
    assert check.problems == [] and check.checked == 3
    assert "clip.check_failed" not in [e["type"] for _i, e in vault.audit.entries()]
    assert len(vault.clips.verify().problems) == 0


def test_clips_sealed_before_header_hashes_are_noted_not_failed(
    sealed: tuple[Vault, Path, list[str]],
) -> None:
    """A vault from before header hashes: its clip.sealed entries lack them."""
    vault, _drop, ids = sealed
    db = sqlite3.connect(vault.layout.catalog, isolation_level=None)
    rows = db.execute("SELECT idx, entry FROM audit_entry WHERE type = 'clip.sealed'").fetchall()
    db.close()
    from vault.audit import merkle
    from vault.canonical import canonical_json

    # Rebuild the log as an old daemon wrote it (leaf and node hashes too), so
    # only the missing header hash differs; `audit verify` still passes.
    db = sqlite3.connect(vault.layout.catalog, isolation_level=None)
    for idx, data in rows:
        entry = json.loads(data)
        entry["details"].pop("header_sha256")
        body = canonical_json(entry)
        db.execute(
            "UPDATE audit_entry SET entry = ?, leaf_hash = ? WHERE idx = ?",
            (body, merkle.leaf_hash(body), idx),
        )
    db.close()
    check = vault.clips.verify()
    assert check.problems == []
    assert sorted(n.clip_id for n in check.notes) == sorted(ids)
    assert all("sealed before header hashes were logged" in n.problem for n in check.notes)


# --- recovery never deletes what the log knows --------------------------------


def _backup(vault: Vault, to: Path) -> None:
    """What an owner's backup job does: SQLite's online backup of catalog.db."""
    src = sqlite3.connect(vault.layout.catalog)
    dst = sqlite3.connect(to)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def _restore(vault_dir: Path, backup: Path) -> None:
    for extra in ("-wal", "-shm"):
        (vault_dir / f"catalog.db{extra}").unlink(missing_ok=True)
    shutil.copyfile(backup, vault_dir / "catalog.db")


def _blobs(vault_dir: Path) -> set[str]:
    return {p.name for p in (vault_dir / "store").rglob("clp_*")}


def test_a_catalog_restored_from_an_older_backup_stops_the_daemon_and_keeps_every_clip(
    sealed: tuple[Vault, Path, list[str]], tmp_path: Path
) -> None:
    vault, drop, _ids = sealed
    backup = tmp_path / "catalog-backup.db"
    _backup(vault, backup)
    for i in range(2):
        (drop / f"new{i}.mp4").write_bytes(os.urandom(4000 + i))
    run_once(vault)
    newest = {c.id for c in vault.clips.all()} - set(_ids)
    assert len(newest) == 2
    before = _blobs(vault.root)
    vault.close()
    _restore(vault.root, backup)
    result = run_cli(vault.root, "daemon", "--once", check=False)
    assert result.returncode == VaultError.exit_code, result.stderr
    assert "the catalog is behind this vault" in result.stderr
    assert "Nothing was deleted" in result.stderr and "Traceback" not in result.stderr
    assert _blobs(vault.root) == before


def test_without_the_checkpoint_copy_a_restored_catalog_still_deletes_nothing(
    sealed: tuple[Vault, Path, list[str]], tmp_path: Path
) -> None:
    """The attacker restores an old catalog and removes checkpoint.note too:
    the daemon runs, but a payload without an intent note is never deleted."""
    vault, drop, ids = sealed
    backup = tmp_path / "catalog-backup.db"
    _backup(vault, backup)
    for i in range(3):
        (drop / f"new{i}.mp4").write_bytes(os.urandom(5000 + i))
    run_once(vault)
    newest = sorted({c.id for c in vault.clips.all()} - set(ids))
    before = _blobs(vault.root)
    vault.close()
    _restore(vault.root, backup)
    (vault.root / "checkpoint.note").unlink()
    run_cli(vault.root, "daemon", "--once")
    assert _blobs(vault.root) == before
    status = json.loads(run_cli(vault.root, "status", "--json").stdout)
    assert status["unknown_payloads"] == newest
    result = run_cli(vault.root, "clips", "verify", "--json", check=False)
    assert result.returncode == IntegrityError.exit_code, result.stderr
    assert sorted(p["id"] for p in json.loads(result.stdout)["problems"]) == newest, result.stderr


def test_an_intent_from_a_longer_log_stops_the_daemon(
    sealed: tuple[Vault, Path, list[str]],
) -> None:
    """A sealing interrupted on a newer catalog: its payload is not an orphan
    of this (older) one, so it is kept and the daemon refuses to run."""
    vault, _drop, _ids = sealed
    size = vault.audit.size()
    vault.store.write_intent("clp_fromnewer0000000", json.dumps({"log_size": size + 50}).encode())
    with vault.store.writer("clp_fromnewer0000000") as w:
        w.write(b"sealed elsewhere")
        w.commit()
    result = run_cli(vault.root, "daemon", "--once", check=False)
    assert result.returncode == VaultError.exit_code
    assert "a sealing began when the log had" in result.stderr
    assert vault.store.exists("clp_fromnewer0000000")


def test_a_full_catalog_removes_the_payload_it_just_wrote(
    sealed: tuple[Vault, Path, list[str]],
) -> None:
    """SQLITE_FULL on the clip's commit (the catalog may not grow): the
    payload goes, the plaintext stays, the error is the storage error."""
    vault, drop, ids = sealed
    clip = drop / ("x" * 200 + ".mp4")
    clip.write_bytes(os.urandom(6000))

    def cap(dbapi_conn, _record, _proxy) -> None:  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        pages = cur.execute("PRAGMA page_count").fetchone()[0]
        cur.execute(f"PRAGMA max_page_count = {pages}")
        cur.close()

    vault.engine.dispose()
    event.listen(vault.engine, "checkout", cap)
    try:
        from vault.ingest.pipeline import CameraRef, DropFolder, seal_file

        cams = {c.name: c for c in vault.cameras.all()}
        assert cams["front"]
        with vault.engine.connect() as conn:
            cam_id, identity = conn.exec_driver_sql(
                "SELECT camera.id, camera_folder.identity FROM camera JOIN camera_folder "
                "ON camera_folder.camera_id = camera.id"
            ).first()
        # Fill the free room in the catalog's pages first, so the next row needs a page.
        with pytest.raises(StorageError, match="disk is full"):
            for _ in range(200):
                seal_file(
                    clip,
                    DropFolder(drop, CameraRef(cam_id, "front", None), identity),
                    engine=vault.engine,
                    store=vault.store,
                    audit=vault.audit,
                    recipients=vault.config.recipients,
                    now=vault.clock(),
                )
                # Sealed after all (the page had room): put it back for another try.
                clip.write_bytes(os.urandom(6000))
    finally:
        event.remove(vault.engine, "checkout", cap)
        vault.engine.dispose()
    assert clip.exists()
    known = {c.id for c in vault.clips.all()}
    assert _blobs(vault.root) == known, "a payload without a catalog row was left"
    assert vault.store.intents() == {}
    assert set(ids) <= known


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
    )
    return proc.returncode == 0


def test_a_full_disk_under_the_catalog_is_the_storage_error_not_a_traceback(tmp_path: Path) -> None:
    small = tmp_path / "small"
    if not _mount_tmpfs(small, "4m"):
        pytest.skip("needs root to mount a small tmpfs")
    try:
        # An open vault keeps the catalog's WAL index in place, as the daemon
        # does; then the disk fills up.
        v = Vault.init(small / "vault", PASSPHRASE, log_n=FAST_LOG_N)
        drop = tmp_path / "drop"
        drop.mkdir()
        v.cameras.add("front", drop)
        (drop / "clip.mp4").write_bytes(os.urandom(1000))
        # The WAL cut to nothing first: a write that can reuse the WAL's own
        # blocks needs no new room, and would succeed on a full disk.
        from vault.catalog.db import truncate_wal

        assert truncate_wal(v.engine)
        filler = small / "filler"
        with open(filler, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
                    f.flush()
            except OSError:
                pass
        (tmp_path / "back").mkdir()
        result = run_cli(
            small / "vault", "camera", "add", "back", str(tmp_path / "back"), check=False
        )
        assert result.returncode == StorageError.exit_code, result.stderr
        assert "disk is full" in result.stderr and "Traceback" not in result.stderr
        # The daemon's own entries (daemon.started) on a full catalog: the same error.
        with pytest.raises(StorageError, match="disk is full"):
            Daemon(v, DaemonOptions(once=True, settle_seconds=0)).run()
        assert (drop / "clip.mp4").exists()
        v.close()
    finally:
        subprocess.run(["umount", "-l", str(small)], check=False)


# --- folders are what they were -------------------------------------------------


def _victim(tmp_path: Path) -> dict[Path, bytes]:
    """Files of the owner's elsewhere, which the daemon must never seal or delete."""
    victim = tmp_path / "documents"
    victim.mkdir()
    files = {victim / "tax.pdf": os.urandom(1000), victim / "photo.jpg": os.urandom(1500)}
    for p, data in files.items():
        p.write_bytes(data)
    return files


def _untouched(files: dict[Path, bytes]) -> bool:
    return all(p.exists() and p.read_bytes() == data for p, data in files.items())


def test_a_drop_folder_swapped_for_a_symlink_is_not_followed(
    sealed: tuple[Vault, Path, list[str]], tmp_path: Path
) -> None:
    vault, drop, ids = sealed
    files = _victim(tmp_path)
    drop.rename(tmp_path / "drop-was")
    drop.symlink_to(tmp_path / "documents")
    result = run_cli(vault.root, "daemon", "--once", check=False, env=None)
    assert result.returncode == 0, result.stderr
    assert _untouched(files)
    assert [c.id for c in vault.clips.all()] == ids
    status = json.loads(run_cli(vault.root, "status", "--json").stdout)
    (folder,) = status["folders"]
    assert folder["problem"] == "symlink" and folder["missing"] is False
    assert status["files_waiting"] == 0


def test_a_parent_of_the_drop_folder_swapped_for_a_symlink_is_not_followed(tmp_path: Path) -> None:
    v = Vault.init(tmp_path / "vault", PASSPHRASE, log_n=FAST_LOG_N)
    try:
        cams = tmp_path / "cams"
        (cams / "front").mkdir(parents=True)
        v.cameras.add("front", cams / "front")
        elsewhere = tmp_path / "elsewhere"
        (elsewhere / "front").mkdir(parents=True)
        files = {elsewhere / "front" / "letter.txt": os.urandom(800)}
        for p, data in files.items():
            p.write_bytes(data)
        cams.rename(tmp_path / "cams-was")
        cams.symlink_to(elsewhere)
        d = run_once(v)
        assert _untouched(files) and v.clips.all() == []
        assert any("symlink" in e for e in d.stats.errors), d.stats.errors
    finally:
        v.close()


def test_a_drop_folder_replaced_while_the_daemon_was_down_is_skipped_until_added_again(
    sealed: tuple[Vault, Path, list[str]], tmp_path: Path
) -> None:
    vault, drop, _ids = sealed
    drop.rename(tmp_path / "drop-was")
    drop.mkdir()
    (drop / "new.mp4").write_bytes(os.urandom(900))
    run_once(vault)
    assert (drop / "new.mp4").exists()
    assert [f.problem for f in vault.status.folders()] == ["replaced"]
    vault.cameras.add("front", drop)  # the owner says this folder is right
    assert [f.problem for f in vault.status.folders()] == [None]
    run_once(vault)
    assert not (drop / "new.mp4").exists() and len(vault.clips.all()) == 4


def test_a_folder_swapped_between_the_check_and_the_sealing_is_not_followed(
    sealed: tuple[Vault, Path, list[str]], tmp_path: Path
) -> None:
    """The check at rescan passed; then the folder became a link. Sealing
    opens the folder again without following it, so nothing is touched."""
    from vault.ingest.folders import FolderProblem
    from vault.ingest.pipeline import CameraRef, DropFolder, seal_file

    vault, drop, _ids = sealed
    files = _victim(tmp_path)
    with vault.engine.connect() as conn:
        cam_id, identity = conn.exec_driver_sql(
            "SELECT camera.id, camera_folder.identity FROM camera JOIN camera_folder "
            "ON camera_folder.camera_id = camera.id"
        ).first()
    drop.rename(tmp_path / "drop-was")
    drop.symlink_to(tmp_path / "documents")
    with pytest.raises(FolderProblem, match="symlink"):
        seal_file(
            drop / "tax.pdf",
            DropFolder(drop, CameraRef(cam_id, "front", None), identity),
            engine=vault.engine,
            store=vault.store,
            audit=vault.audit,
            recipients=vault.config.recipients,
            now=vault.clock(),
        )
    assert _untouched(files)
    assert _blobs(vault.root) == {c.id for c in vault.clips.all()}


def test_export_age_refuses_a_drop_folder(sealed: tuple[Vault, Path, list[str]]) -> None:
    vault, drop, ids = sealed
    entries = vault.audit.size()
    for out in (drop / "copy.age", drop):
        result = run_cli(vault.root, "clips", "export-age", ids[0], "-o", str(out), check=False)
        assert result.returncode == UsageError.exit_code, result.stderr
        assert "the drop folder of camera front" in result.stderr
    assert list(drop.iterdir()) == []
    assert vault.audit.size() == entries


def test_export_age_refuses_a_dangling_symlink(
    sealed: tuple[Vault, Path, list[str]], tmp_path: Path
) -> None:
    vault, drop, ids = sealed
    entries = vault.audit.size()
    link = tmp_path / "out.age"
    link.symlink_to(drop / "planted.age")  # points into the drop folder, at nothing yet
    result = run_cli(vault.root, "clips", "export-age", ids[0], "-o", str(link), check=False)
    assert result.returncode == UsageError.exit_code, result.stderr
    assert "is a symlink" in result.stderr
    assert not (drop / "planted.age").exists() and link.is_symlink()
    assert vault.audit.size() == entries


def test_export_refuses_a_dangling_symlink_before_decrypting_or_logging(
    sealed: tuple[Vault, Path, list[str]], tmp_path: Path
) -> None:
    from tests.requests.test_service import REQ

    vault, drop, _ids = sealed
    rid = vault.requests.add(REQ)
    vault.unlock(PASSPHRASE)
    vault.requests.decide(rid, approve=True, reason="ok")
    entries = vault.audit.size()
    link = tmp_path / "handover"
    link.symlink_to(drop / "handover")
    with pytest.raises(UsageError, match="is a symlink"):
        vault.releases.export(rid, link)
    assert not (drop / "handover").exists()
    assert vault.audit.size() == entries
    assert list(tmp_path.glob(".*.partial")) == []
