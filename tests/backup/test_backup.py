"""Backups to a folder: consistent copy, incremental, verify, restore, and shredding honoured."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from tests.backup.conftest import START, files_holding, headers, ingest, needles
from tests.tools import PASSPHRASE, require_tool, run_cli
from vault import age
from vault.errors import IntegrityError, NotFound, UsageError
from vault.service import Vault
from vault.service.backup_check import restore, verify_backup


def _blob_files(root: Path) -> dict[str, tuple[int, int]]:
    """Every payload file under *root*/store: relative path -> (inode, mtime_ns)."""
    out = {}
    for p in (root / "store").rglob("*"):
        if p.is_file() and p.parent.name != "tmp":
            st = p.stat()
            out[str(p.relative_to(root))] = (st.st_ino, st.st_mtime_ns)
    return out


def test_a_backup_verifies_and_restores_into_a_vault_that_opens_every_clip(
    filled: tuple[Vault, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, _drop = filled
    dest = tmp_path / "usb"
    report = vault.backups.take(str(dest))
    assert report.clips == 4 and report.payloads_added == 4 and report.shredded_removed == []
    check = verify_backup(str(dest))
    assert check.ok, check.problems
    assert check.payloads_checked == 4 and check.owner_verifier == vault.config.owner_verifier
    # No secret lies in the backup unsealed: the device key travels sealed.
    assert not (dest / "keys" / "device.ed25519").exists()
    assert b"PRIVATE KEY" not in (dest / "keys" / "device.ed25519.age").read_bytes()

    # Another machine: no owner head there.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "other-machine"))
    new = tmp_path / "restored"
    done = restore(str(dest), new, PASSPHRASE)
    assert done.clips == 4
    restored = Vault.open(new)
    try:
        restored.unlock(PASSPHRASE)
        assert restored.audit.verify(restored.verifier_keys()).ok
        assert {c.id: c.sha256 for c in restored.clips.all()} == {
            c.id: c.sha256 for c in vault.clips.all()
        }
        assert restored.clips.verify().problems == []
        # The stock age opens a clip exported from the restored vault.
        exe = require_tool("age")
        ident = tmp_path / "identity.txt"
        ident.write_text(str(restored.owner_keys().identity) + "\n")
        os.chmod(ident, 0o600)
        clip = restored.clips.all()[0]
        out = restored.clips.export_age(clip.id, tmp_path / "clip.age")
        plain = subprocess.run(
            [exe, "-d", "-i", str(ident), str(out)], capture_output=True, check=True
        ).stdout
        import hashlib

        assert hashlib.sha256(plain).hexdigest() == clip.sha256
        # The device key came back whole: the restored vault signs as the old device.
        assert restored.keyring.device_signer().verifier_key() == vault.config.device_verifier
    finally:
        restored.close()
    assert oct(new.stat().st_mode & 0o777) == "0o700"
    assert oct((new / "keys" / "device.ed25519").stat().st_mode & 0o777) == "0o600"


def test_the_second_run_copies_only_new_payloads(
    filled: tuple[Vault, Path], tmp_path: Path
) -> None:
    vault, drop = filled
    dest = tmp_path / "nas"
    vault.backups.take(str(dest))
    before = _blob_files(dest)
    ingest(vault, drop, [START + timedelta(hours=1, minutes=i) for i in range(2)])
    report = vault.backups.take(str(dest))
    assert report.payloads_added == 2 and report.payloads_removed == 0 and report.clips == 6
    after = _blob_files(dest)
    assert len(after) == 6
    assert {k: after[k] for k in before} == before, "an old payload was copied again"
    assert verify_backup(str(dest)).ok


def test_a_shredded_header_is_in_no_byte_of_the_destination_after_the_next_run(
    filled: tuple[Vault, Path], tmp_path: Path
) -> None:
    vault, _drop = filled
    dest = tmp_path / "usb"
    vault.backups.take(str(dest))
    victim = sorted(headers(vault))[1]
    header = headers(vault)[victim]
    assert files_holding(dest, header) == ["catalog.db"]  # the test can find it at all
    result = vault.retention.shred(victim, "recorded by mistake")
    record = next(r for r in vault.retention.deletion_records() if r["id"] == result.record)
    # The record says where the header still is, and what the vault cannot reach.
    assert record["backups"] == [
        {"destination": str(dest.resolve()), "updated_at": record["backups"][0]["updated_at"]}
    ]
    assert record["backups"][0]["updated_at"].startswith("20")
    assert str(dest.resolve()) in record["residual_risk"]
    assert "outside the vault's reach" in record["residual_risk"]
    report = vault.backups.take(str(dest))
    assert report.shredded_removed == [victim] and report.payloads_removed == 1
    for needle in needles(header):
        assert files_holding(dest, needle) == [], needle
    check = verify_backup(str(dest))
    assert check.ok, check.problems
    assert check.clips_checked == 4 and check.payloads_checked == 3
    # A fresh backup taken after the shred never had it.
    fresh = tmp_path / "fresh"
    vault.backups.take(str(fresh))
    for needle in needles(header):
        assert files_holding(fresh, needle) == []
    entries = [e for _i, e in vault.audit.entries()]
    taken = [e for e in entries if e["type"] == "backup.taken"]
    assert [e["details"]["shredded_removed"] for e in taken] == [[], [victim], []]


def test_verify_finds_a_damaged_payload_and_a_planted_header(
    filled: tuple[Vault, Path], tmp_path: Path
) -> None:
    import sqlite3

    vault, _drop = filled
    dest = tmp_path / "usb"
    victim = sorted(headers(vault))[0]
    header = headers(vault)[victim]
    vault.retention.shred(victim, "gone")
    vault.backups.take(str(dest))
    assert verify_backup(str(dest)).ok
    # An attacker with the files: put the shredded header back into the copy.
    conn = sqlite3.connect(dest / "catalog.db")
    conn.execute("UPDATE clip SET header = ? WHERE id = ?", (header, victim))
    conn.commit()
    conn.close()
    check = verify_backup(str(dest))
    assert not check.ok
    assert any("still holds its header" in p for p in check.problems)
    assert any("does not match the manifest" in p for p in check.problems)
    # A flipped byte in a payload.
    vault.backups.take(str(dest))
    blob = next(p for p in (dest / "store").rglob("clp_*") if p.is_file())
    os.chmod(blob, 0o600)
    data = bytearray(blob.read_bytes())
    data[-1] ^= 1
    blob.write_bytes(bytes(data))
    check = verify_backup(str(dest))
    assert not check.ok and any("does not match its hash" in p for p in check.problems)
    proc = run_cli(vault.root, "backup", "verify", str(dest), check=False, passphrase=None)
    assert proc.returncode == IntegrityError.exit_code, proc.stderr
    assert "does not match its hash" in proc.stderr and "Traceback" not in proc.stderr


def test_a_damaged_payload_in_the_store_is_never_copied(
    filled: tuple[Vault, Path], tmp_path: Path
) -> None:
    vault, _drop = filled
    victim = sorted(headers(vault))[2]
    path = vault.store.path(victim)
    os.chmod(path, 0o600)
    data = bytearray(path.read_bytes())
    data[20] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=victim):
        vault.backups.take(str(tmp_path / "usb"))
    assert not (tmp_path / "usb" / "ringfence-backup.json").exists()


def test_restore_refuses_what_it_must(
    filled: tuple[Vault, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vault.errors import PassphraseError

    vault, _drop = filled
    dest = tmp_path / "usb"
    vault.backups.take(str(dest))
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "something").write_text("x")
    with pytest.raises(UsageError, match="not empty"):
        restore(str(dest), busy, PASSPHRASE)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "elsewhere"))
    with pytest.raises(PassphraseError):
        restore(str(dest), tmp_path / "new", "not the passphrase")
    assert not (tmp_path / "new").exists(), "a failed restore leaves a half vault"
    with pytest.raises(NotFound):
        verify_backup(str(tmp_path / "nothing-here"))


def test_the_commands(filled: tuple[Vault, Path], tmp_path: Path) -> None:
    vault, _drop = filled
    root = vault.root
    vault.close()
    dest = tmp_path / "usb"
    out = run_cli(root, "backup", str(dest), "--json", passphrase=None)
    report = json.loads(out.stdout)
    assert report["clips"] == 4 and report["destination"] == str(dest.resolve())
    check = json.loads(
        run_cli(root, "backup", "verify", str(dest), "--json", passphrase=None).stdout
    )
    assert check["ok"] is True and check["problems"] == []
    text = run_cli(root, "backup", "verify", str(dest), passphrase=None).stdout
    assert ": ok;" in text
    bad = run_cli(root, "backup", "rclone:-x:y", check=False, passphrase=None)
    assert bad.returncode == UsageError.exit_code and "rclone:REMOTE:PATH" in bad.stderr
    missing = run_cli(
        root, "backup", "verify", str(tmp_path / "none"), check=False, passphrase=None
    )
    assert missing.returncode == NotFound.exit_code and "Traceback" not in missing.stderr
    other = tmp_path / "other-config"
    from tests.tools import cli_env

    env = cli_env(root, XDG_CONFIG_HOME=str(other))
    out = run_cli(root, "restore", str(dest), str(tmp_path / "new"), "--json", env=env)
    assert json.loads(out.stdout)["clips"] == 4
    status = run_cli(
        tmp_path / "new",
        "clips",
        "list",
        "--json",
        env=cli_env(tmp_path / "new", XDG_CONFIG_HOME=str(other)),
    )
    assert len(json.loads(status.stdout)) == 4


def test_a_killed_backups_staging_copy_is_swept_by_the_next_shred(
    filled: tuple[Vault, Path],
) -> None:
    vault, _drop = filled
    staging = vault.layout.backup_staging
    staging.mkdir(mode=0o700)
    (staging / ".lock").touch()
    (staging / "snapshot.db").write_bytes(b"".join(headers(vault).values()))
    vault.retention.shred(sorted(headers(vault))[0], "gone")
    assert [p.name for p in staging.iterdir()] == [".lock"]


def test_age_is_not_needed_to_read_a_backups_device_key_but_the_owner_is(
    filled: tuple[Vault, Path], tmp_path: Path
) -> None:
    vault, _drop = filled
    dest = tmp_path / "usb"
    vault.backups.take(str(dest))
    sealed = (dest / "keys" / "device.ed25519.age").read_bytes()
    plain = age.decrypt_bytes(sealed, [vault.owner_keys().identity])
    assert plain == vault.layout.device_key.read_bytes()
    with pytest.raises(age.NoMatchingIdentity):
        age.decrypt_bytes(sealed, [age.generate_identity()])


def test_restoring_a_backup_older_than_the_owners_head_says_what_was_lost(
    filled: tuple[Vault, Path], tmp_path: Path
) -> None:
    vault, _drop = filled
    dest = tmp_path / "usb"
    vault.backups.take(str(dest))
    vault.holds.add("front", START, START + timedelta(hours=1), "claim")  # signs a newer head
    vault.checkpoint()
    with pytest.raises(IntegrityError, match="the entries after the backup are lost"):
        restore(str(dest), tmp_path / "new", PASSPHRASE)
    assert not (tmp_path / "new").exists()


def test_a_backup_killed_at_any_moment_is_finished_by_the_next_run(
    filled: tuple[Vault, Path], tmp_path: Path
) -> None:
    import random
    import signal
    import sys
    import time

    from tests.tools import cli_env

    vault, drop = filled
    dest = tmp_path / "usb"
    vault.backups.take(str(dest))
    ingest(vault, drop, [START + timedelta(hours=2, minutes=i) for i in range(3)])
    rng = random.Random(18)
    for _attempt in range(4):
        proc = subprocess.Popen(
            [sys.executable, "-m", "vault", "backup", str(dest)],
            env=cli_env(vault.root, passphrase=None),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.2, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # Whatever it reached, the next run completes, and the backup verifies.
        report = vault.backups.take(str(dest))
        assert report.clips == 7  # each round adds one clip and shreds one
        check = verify_backup(str(dest))
        assert check.ok, check.problems
        ingest(vault, drop, [START + timedelta(hours=3 + _attempt)])
        vault.retention.shred(sorted(headers(vault))[0], "gone")
