"""The daemon reads its cameras through the cameras service, never the catalog itself."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vault.ingest.daemon import Daemon, DaemonOptions
from vault.ingest.folders import identity_of
from vault.ingest.pipeline import DropFolder
from vault.service import Vault


def test_drop_folders_lists_every_folder_in_the_order_added(vault: Vault, tmp_path: Path) -> None:
    vault.cameras.add("porch", tmp_path / "porch-a", pattern="porch_%Y%m%d-%H%M%S")
    vault.cameras.add("garage", tmp_path / "garage")
    vault.cameras.add("porch", tmp_path / "porch-b")

    folders = vault.cameras.drop_folders()

    assert [f.path for f in folders] == [
        (tmp_path / "porch-a").resolve(),
        (tmp_path / "garage").resolve(),
        (tmp_path / "porch-b").resolve(),
    ]
    assert [f.camera.name for f in folders] == ["porch", "garage", "porch"]
    assert folders[0].camera == folders[2].camera
    assert folders[0].camera.pattern == "porch_%Y%m%d-%H%M%S"
    assert folders[1].camera.pattern is None
    for f in folders:
        assert f.identity == identity_of(os.stat(f.path))


def test_the_daemon_watches_what_the_service_lists(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault.cameras.add("listed", tmp_path / "listed")
    vault.cameras.add("unlisted", tmp_path / "unlisted")
    (tmp_path / "listed" / "a.mp4").write_bytes(b"listed clip")
    (tmp_path / "unlisted" / "b.mp4").write_bytes(b"unlisted clip")
    calls: list[None] = []
    real = vault.cameras.drop_folders

    def only_listed() -> list[DropFolder]:
        calls.append(None)
        return [f for f in real() if f.camera.name == "listed"]

    monkeypatch.setattr(vault.cameras, "drop_folders", only_listed)

    assert Daemon(vault, DaemonOptions(once=True, settle_seconds=0)).run() == 0

    assert calls
    assert [c.camera for c in vault.clips.all()] == ["listed"]
    assert (tmp_path / "unlisted" / "b.mp4").exists()
    assert not (tmp_path / "listed" / "a.mp4").exists()
