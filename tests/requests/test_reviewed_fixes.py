"""Regressions found in review: each test would have caught its bug."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from vault.daemon import Daemon, DaemonOptions
from vault.errors import PolicyError, UsageError
from vault.service import Vault


def _ingest(vault: Vault, drop: Path) -> None:
    (drop / "a.mp4").write_bytes(os.urandom(30_000))
    Daemon(vault, DaemonOptions(once=True, settle_seconds=0)).run()


def test_listing_requests_does_not_wait_for_a_writer(vault: Vault, camera: Path) -> None:
    vault.add_request({
        "requester": "A", "organisation": "B", "kind": "insurer", "basis": "consent",
        "reason": "claim", "cameras": ["front"], "from": "2026-01-01", "to": "2026-02-01",
    })
    other = sqlite3.connect(vault.layout.catalog, timeout=0)
    other.execute("BEGIN IMMEDIATE")  # someone (the daemon) holds the write lock
    try:
        t0 = time.monotonic()
        assert len(vault.requests()) == 1
        assert vault.status()["clips"] == 0
        assert time.monotonic() - t0 < 5  # the busy timeout is 30 s: no waiting happened
    finally:
        other.rollback()
        other.close()


def test_export_age_refuses_a_path_inside_the_vault(vault: Vault, camera: Path) -> None:
    _ingest(vault, camera)
    (clip,) = vault.clips()
    with pytest.raises(UsageError, match="inside the vault"):
        vault.export_age(clip.id, vault.root / "copy.age")
    assert not (vault.root / "copy.age").exists()


def test_viewing_a_shredded_clip_files_no_request(vault: Vault, camera: Path) -> None:
    _ingest(vault, camera)
    (clip,) = vault.clips()
    vault.shred(clip.id, "no longer needed")
    with pytest.raises(PolicyError, match="shredded"):
        vault.view_clip(clip.id, "look")
    assert vault.requests() == []


def test_status_counts_stored_bytes_from_the_catalog(vault: Vault, camera: Path) -> None:
    _ingest(vault, camera)
    (clip,) = vault.clips()
    assert vault.status()["store_bytes"] == clip.payload_size == vault.store.path(clip.id).stat().st_size
