"""Regressions found in review: each test would have caught its bug."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from vault.errors import PolicyError, UsageError
from vault.ingest.daemon import Daemon, DaemonOptions
from vault.service import Vault


def _ingest(vault: Vault, drop: Path) -> None:
    (drop / "a.mp4").write_bytes(os.urandom(30_000))
    Daemon(vault, DaemonOptions(once=True, settle_seconds=0)).run()


def test_listing_requests_does_not_wait_for_a_writer(vault: Vault, camera: Path) -> None:
    vault.requests.add(
        {
            "requester": "A",
            "organisation": "B",
            "kind": "insurer",
            "basis": "consent",
            "reason": "claim",
            "cameras": ["front"],
            "from": "2026-01-01",
            "to": "2026-02-01",
        }
    )
    other = sqlite3.connect(vault.layout.catalog, timeout=0)
    other.execute("BEGIN IMMEDIATE")  # someone (the daemon) holds the write lock
    seen: dict[str, int] = {}

    def read() -> None:
        seen["requests"] = len(vault.requests.all())
        seen["clips"] = vault.status.report().clips

    try:
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        # A reader that waited for the write lock could only finish after the
        # lock is released below; it must finish while the lock is still held.
        reader.join(timeout=25)
        assert not reader.is_alive(), "the listing waited for the writer"
        assert seen == {"requests": 1, "clips": 0}
    finally:
        other.rollback()
        other.close()


def test_export_age_refuses_a_path_inside_the_vault(vault: Vault, camera: Path) -> None:
    _ingest(vault, camera)
    (clip,) = vault.clips.all()
    with pytest.raises(UsageError, match="inside the vault"):
        vault.clips.export_age(clip.id, vault.root / "copy.age")
    assert not (vault.root / "copy.age").exists()


def test_viewing_a_shredded_clip_files_no_request(vault: Vault, camera: Path) -> None:
    _ingest(vault, camera)
    (clip,) = vault.clips.all()
    vault.retention.shred(clip.id, "no longer needed")
    with pytest.raises(PolicyError, match="shredded"):
        vault.releases.view(clip.id, "look")
    assert vault.requests.all() == []


def test_status_counts_stored_bytes_from_the_catalog(vault: Vault, camera: Path) -> None:
    _ingest(vault, camera)
    (clip,) = vault.clips.all()
    assert (
        vault.status.report().store_bytes
        == clip.payload_size
        == vault.store.path(clip.id).stat().st_size
    )


REQUEST = {
    "requester": "A",
    "organisation": "B",
    "kind": "insurer",
    "basis": "consent",
    "reason": "claim",
    "cameras": ["front"],
    "from": "2026-01-01",
    "to": "2026-02-01",
}


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("to", "9999-12-31T23:00:00-05:00", "out of the range"),
        ("from", "0001-01-01T00:00:00+05:00", "out of the range"),
        ("deadline", "2020-01-01T00:00:00Z", "already passed"),
        ("attachments", [5], "must be a file path"),
        ("attachments", "", None),
    ],
)
def test_request_fields_out_of_range_are_usage_errors(
    vault: Vault, camera: Path, field: str, value: object, message: str | None
) -> None:
    fields = dict(REQUEST, **{field: value})
    if message is None:
        assert vault.requests.get(vault.requests.add(fields)).status == "pending"
        return
    with pytest.raises(UsageError, match=message):
        vault.requests.add(fields)
    assert vault.requests.all() == []


def test_an_imported_request_reaches_only_files_beside_it(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    import json

    outside = tmp_path / "secret.txt"
    outside.write_text("the owner's private notes")
    forms = tmp_path / "forms"
    forms.mkdir()
    (forms / "warrant.pdf").write_bytes(b"%PDF-1.4 warrant")
    for bad in (str(outside), "../secret.txt"):
        form = forms / "req.json"
        for value in ([bad], bad):  # a list, or one path on its own
            form.write_text(json.dumps(dict(REQUEST, attachments=value)))
            with pytest.raises(UsageError, match="inside the request file's folder"):
                vault.requests.import_file(form)
    assert vault.requests.all() == []
    form.write_text(json.dumps(dict(REQUEST, attachments=["warrant.pdf"])))
    rid = vault.requests.import_file(form)
    assert [a["name"] for a in vault.requests.get(rid).attachments] == ["warrant.pdf"]
