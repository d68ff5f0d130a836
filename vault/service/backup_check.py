"""Checking a backup without the passphrase, and restoring one as a new vault.

``backup verify DEST`` fetches the backup's small files into a private temp
folder (the payloads stay where they are) and checks: the manifest; the
catalog's bytes against it and SQLite's own integrity check; the whole audit
log against the configuration's verifier keys and the checkpoint copy; every
clip row against its ``clip.sealed`` entry, and that no clip the log or the
catalog calls shredded still has a header; every payload's SHA-256.

``restore DEST NEWVAULT`` checks the backup the same way, copies it into an
empty folder, opens the owner's keys with the passphrase, puts the device key
back (it travels sealed to the owner), and then opens the new vault and
verifies its log and every clip as ``audit verify`` and ``clips verify`` do.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from vault.audit import events
from vault.audit.log import AuditLog
from vault.catalog.db import open_catalog
from vault.config import CATALOG_NAME, CONFIG_NAME, Config, Layout
from vault.errors import (
    IntegrityError,
    NotFound,
    RingfenceError,
    UsageError,
    VaultError,
)
from vault.fsutil import ensure_private_dir, read_regular
from vault.keys import restore_device_key, unlock, verify_identity_matches
from vault.service.backup import (
    DEVICE_SEALED_REL,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    RECOVERY_REL,
    SMALL_FILES,
    file_sha256,
)
from vault.service.backup_dest import SMALL_FILE_MAX, Destination, parse_destination
from vault.service.census import logged_clips
from vault.timeutil import utc_now

_BLOB_ID_DIGITS = 4


@dataclass(frozen=True)
class BackupCheck:
    destination: str
    ok: bool
    taken_at: str | None
    log_size: int
    clips_checked: int
    payloads_checked: int
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    owner_verifier: str | None = None


@dataclass(frozen=True)
class RestoreReport:
    vault: str
    source: str
    taken_at: str | None
    log_size: int
    clips: int
    audit: str


@contextlib.contextmanager
def _private_temp() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="ringfence-backup-check-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _blob_rel(blob_id: str) -> str:
    digits = blob_id.split("_", 1)[-1]
    return f"{digits[:2]}/{digits[2:_BLOB_ID_DIGITS]}/{blob_id}"


def _manifest(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads(read_regular(folder / MANIFEST_NAME, SMALL_FILE_MAX))
    except (OSError, ValueError, IntegrityError):
        raise IntegrityError(f"the backup's {MANIFEST_NAME} is missing or not JSON") from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise IntegrityError(
            f"{MANIFEST_NAME} is not a ringfence backup manifest (format {MANIFEST_FORMAT})"
        )
    return data


def _fetch_small(dest: Destination, folder: Path) -> list[str]:
    """Fetch the manifest and the small files into *folder*; the names missing."""
    missing = []
    for name in (MANIFEST_NAME, *SMALL_FILES):
        target = folder / name
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not dest.fetch(name, target):
            missing.append(name)
    return missing


def verify_backup(destination: str) -> BackupCheck:
    """Check the backup at *destination* (see the module docstring). Needs no key."""
    dest = parse_destination(destination)
    with _private_temp() as folder:
        return _verify(dest, folder)


def _verify(dest: Destination, folder: Path) -> BackupCheck:
    where = dest.describe()
    missing = _fetch_small(dest, folder)
    if MANIFEST_NAME in missing:
        raise NotFound(f"no ringfence backup at {where} ({MANIFEST_NAME} is missing)")
    manifest = _manifest(folder)
    problems = [f"{name} is missing" for name in missing]
    notes: list[str] = []
    taken_at = manifest.get("taken_at") if isinstance(manifest.get("taken_at"), str) else None
    if CONFIG_NAME in missing or CATALOG_NAME in missing:
        return BackupCheck(where, False, taken_at, 0, 0, 0, problems, notes)
    layout = Layout(folder)
    try:
        config = Config.load(layout)
    except VaultError as exc:
        return BackupCheck(where, False, taken_at, 0, 0, 0, [*problems, exc.message], notes)
    if manifest.get("vault_id") != config.vault_id or manifest.get("origin") != config.origin:
        problems.append("the manifest names another vault than config.toml")
    size, digest = file_sha256(layout.catalog)
    if digest != manifest.get("catalog_sha256") or size != manifest.get("catalog_size"):
        problems.append(
            "catalog.db does not match the manifest (a backup run did not "
            "finish, or the file was changed): run `ringfence backup` again"
        )
    try:
        conn = sqlite3.connect(os.fspath(layout.catalog), isolation_level=None)
        try:
            result = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return BackupCheck(
            where,
            False,
            taken_at,
            0,
            0,
            0,
            [*problems, f"catalog.db is not a catalog: {exc}"],
            notes,
        )
    if result != ["ok"]:
        problems.append("catalog.db fails SQLite's integrity check: " + "; ".join(result[:5]))
        return BackupCheck(where, False, taken_at, 0, 0, 0, problems, notes, config.owner_verifier)
    try:
        engine = open_catalog(layout.catalog, create=False)
    except RingfenceError as exc:
        return BackupCheck(
            where, False, taken_at, 0, 0, 0, [*problems, exc.message], notes, config.owner_verifier
        )
    try:
        audit = AuditLog(engine, config.origin, copy_path=layout.checkpoint_copy)
        report = audit.verify([config.owner_verifier, config.device_verifier])
        if not report.ok:
            problems.append(f"audit log: {report.reason}")
        log_size = report.size
        raw = engine.raw_connection()
        try:
            driver: Any = raw.driver_connection
            rows = driver.execute(
                "SELECT id, header, shredded_at, payload_size, payload_sha256 FROM clip ORDER BY id"
            ).fetchall()
            attachments = driver.execute(
                "SELECT id, payload_sha256 FROM attachment WHERE header IS NOT NULL"
            ).fetchall()
            sealed, shredded = logged_clips(driver)
        finally:
            raw.close()
    finally:
        engine.dispose()
    want: dict[str, tuple[str, int | None, str]] = {}
    for cid, header, shredded_at, psize, psha in rows:
        if cid in shredded or shredded_at is not None:
            if header is not None:
                problems.append(f"{cid}: shredded, but the backup still holds its header")
            elif cid not in shredded:
                notes.append(
                    f"{cid}: shredded after this backup's log was copied (its header "
                    "was removed from the backup)"
                )
            continue
        if header is None:
            problems.append(
                f"{cid}: no header, and neither the catalog nor the log says it was shredded"
            )
            continue
        logged = sealed.get(cid)
        if logged is None:
            problems.append(f"{cid}: no clip.sealed entry in the audit log")
        elif (
            isinstance(logged.get("header_sha256"), str)
            and hashlib.sha256(bytes(header)).hexdigest() != logged["header_sha256"]
        ):
            problems.append(f"{cid}: its age header differs from the one logged at sealing")
        want[_blob_rel(cid)] = (cid, int(psize), psha)
    for aid, psha in attachments:
        want[_blob_rel(aid)] = (aid, None, psha)
    hashes = dest.blob_hashes(sorted(want))
    for rel, (blob_id, psize, psha) in sorted(want.items()):
        got = hashes.get(rel)
        if got is None:
            problems.append(f"{blob_id}: its payload is missing from the backup")
        elif got[1] != psha or (psize is not None and got[0] != psize):
            problems.append(f"{blob_id}: its payload does not match its hash")
    stray = sorted(set(dest.blobs()) - set(want))
    if stray:
        notes.append(
            f"{len(stray)} payload(s) in the backup that its catalog does not name "
            "(removed by the next backup run)"
        )
    return BackupCheck(
        where,
        not problems,
        taken_at,
        log_size,
        sum(1 for r in rows),
        len(hashes),
        problems,
        notes,
        config.owner_verifier,
    )


def restore(
    destination: str, root: Path, passphrase: str, *, clock: Callable[[], datetime] = utc_now
) -> RestoreReport:
    """Make a new vault in the empty folder *root* from the backup at *destination*."""
    from vault.service.vault import Vault

    dest = parse_destination(destination)
    with _private_temp() as folder:
        check = _verify(dest, folder)
    if not check.ok:
        raise IntegrityError(
            f"the backup at {check.destination} does not verify: " + "; ".join(check.problems[:5])
        )
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise UsageError(f"{root} is not empty; restore into a new or empty folder")
    made = not root.exists()
    try:
        ensure_private_dir(root, share=False)
        dest.fetch_all(root, (MANIFEST_NAME, *SMALL_FILES))
        dest.fetch(RECOVERY_REL, root / RECOVERY_REL)  # only while the vault has a recovery key
        layout = Layout(root)
        for path in root.rglob("*"):  # whatever modes the destination kept
            os.chmod(path, 0o700 if path.is_dir() else 0o600)
        for path in layout.store.rglob("*"):
            if path.is_file():
                os.chmod(path, 0o400)
        sealed_device = (root / DEVICE_SEALED_REL).read_bytes()
        manifest = _manifest(root)
        config = Config.load(layout)
        keys = unlock(layout, passphrase)
        verify_identity_matches(keys, config.recipients)
        restore_device_key(layout, keys.identity, sealed_device)
        (root / DEVICE_SEALED_REL).unlink()
        (root / MANIFEST_NAME).unlink()
        vault = Vault.open(root, clock=clock)
        try:
            vault.keyring.unlock(passphrase)
            report = vault.audit.verify(vault.verifier_keys())
            if not report.ok:
                raise IntegrityError(
                    f"the restored audit log does not verify: {report.reason}. If this "
                    "backup is older than the newest checkpoint you signed on this machine, "
                    "the entries after the backup are lost: keep that head file as the "
                    "record of what was lost, move it aside, and restore again "
                    "(docs/backup.md)"
                )
            clips = vault.clips.verify()
            if clips.problems:
                raise IntegrityError(
                    "the restored clips do not verify: "
                    + "; ".join(f"{p.clip_id}: {p.problem}" for p in clips.problems[:5])
                )
            vault.audit.append(
                events.VAULT_RESTORED,
                actor="owner",
                subject=check.destination,
                details={
                    "source": check.destination,
                    "log_size": int(manifest.get("log_size", 0)),
                    "taken_at": str(manifest.get("taken_at")),
                },
            )
            vault.keyring.checkpoint_with_owner()
            audit = vault.audit.verify(vault.verifier_keys())
        finally:
            vault.close()
    except BaseException:
        if made:
            shutil.rmtree(root, ignore_errors=True)
        else:
            for child in list(root.iterdir()):
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        raise
    return RestoreReport(
        os.fspath(root),
        check.destination,
        check.taken_at,
        check.log_size,
        clips.checked,
        audit.reason,
    )
