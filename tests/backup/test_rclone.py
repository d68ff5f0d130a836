"""An rclone remote as the destination: the real rclone, with a `local` remote."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.backup.conftest import files_holding, headers, needles
from tests.tools import PASSPHRASE, require_tool
from vault.service import Vault
from vault.service.backup_check import restore, verify_backup


@pytest.fixture
def remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """An rclone remote named `offsite` of type local, defined by environment
    (no rclone.conf), and the folder it writes to."""
    require_tool("rclone")
    monkeypatch.setenv("RCLONE_CONFIG_OFFSITE_TYPE", "local")
    monkeypatch.setenv("RCLONE_CONFIG", os.devnull)
    folder = tmp_path / "remote" / "ringfence"
    return f"rclone:offsite:{folder}", folder


def test_backup_to_an_rclone_remote_verifies_restores_and_honours_shredding(
    filled: tuple[Vault, Path],
    remote: tuple[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vault, _drop = filled
    spec, folder = remote
    report = vault.backups.take(spec)
    assert report.destination == spec and report.payloads_added == 4
    assert (folder / "catalog.db").is_file() and (folder / "ringfence-backup.json").is_file()
    check = verify_backup(spec)
    assert check.ok, check.problems
    assert check.payloads_checked == 4
    again = vault.backups.take(spec)
    assert again.payloads_added == 0 and again.payloads_removed == 0

    victim = sorted(headers(vault))[0]
    header = headers(vault)[victim]
    assert files_holding(folder, header) == ["catalog.db"]
    vault.retention.shred(victim, "recorded by mistake")
    after = vault.backups.take(spec)
    assert after.shredded_removed == [victim] and after.payloads_removed == 1
    for needle in needles(header):
        assert files_holding(folder, needle) == [], needle
    assert verify_backup(spec).ok

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "new-machine"))
    done = restore(spec, tmp_path / "restored", PASSPHRASE)
    assert done.clips == 3
    restored = Vault.open(tmp_path / "restored")
    try:
        assert sorted(c.id for c in restored.clips.all()) == sorted(headers(vault))
        assert restored.clips.verify().problems == []
    finally:
        restored.close()


def test_a_remote_rclone_does_not_know_is_a_clear_error(
    filled: tuple[Vault, Path], remote: tuple[str, Path]
) -> None:
    from vault.errors import StorageError

    vault, _drop = filled
    with pytest.raises(StorageError, match="rclone could not"):
        vault.backups.take("rclone:nosuchremote:x")
