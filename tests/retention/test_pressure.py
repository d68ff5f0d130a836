"""Low disk space is reported loudly; clips go early only when the owner opted in."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

import pytest

from tests.retention.conftest import at, ingest
from tests.tools import run_cli
from vault.ingest.daemon import Daemon
from vault.retention import verify_record
from vault.service import Vault
from vault.timeutil import utc_now


def low_disk(vault: Vault, monkeypatch: pytest.MonkeyPatch, missing: int) -> None:
    """Pretend the disk has *missing* bytes less than the threshold."""
    monkeypatch.setattr(vault.status, "free_bytes", lambda: vault.config.min_free_bytes - missing)


def test_low_disk_is_reported_and_nothing_extra_is_shredded(
    vault: Vault, drop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recent = utc_now().replace(microsecond=0)
    ids = ingest(vault, drop, [at(0), recent])
    low_disk(vault, monkeypatch, 10**9)
    assert vault.status.report().low_disk is True
    pressure = vault.retention.disk_pressure()
    assert pressure.low and "LOW DISK SPACE" in pressure.message()
    assert "shred_on_pressure" in pressure.message()
    report = vault.retention.run()
    assert [c["id"] for c in report.shredded] == [ids[at(0)]]  # only what retention says
    assert report.disk is not None and report.disk.low
    assert report.as_json()["disk"]["low"] is True
    assert not vault.clips.get(ids[recent]).shredded


def test_shred_on_pressure_takes_the_oldest_unheld_clips(
    vault: Vault, drop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault.cameras.change("front", retention_days=0)  # nothing is due by retention
    times = [at(d) for d in (3, 0, 4, 1, 2)]
    ids = ingest(vault, drop, times)
    vault.holds.add("front", at(0), at(0.5), "claim")
    vault.config.shred_on_pressure = True
    low_disk(vault, monkeypatch, int(vault.clips.get(ids[at(1)]).payload_size * 1.5))
    report = vault.retention.run()
    assert [c["id"] for c in report.shredded] == [ids[at(1)], ids[at(2)]]
    assert all(c["rule"] == "disk_pressure" for c in report.shredded)
    assert not vault.clips.get(ids[at(0)]).shredded  # the oldest, but held: never
    [record] = vault.retention.deletion_records()
    assert record["trigger"] == "disk_pressure"
    assert all("disk pressure" in c["why"] for c in record["clips"])
    verify_record(record, vault.config.device_verifier)


def test_daemon_runs_retention_and_warns(
    vault: Vault, drop: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ids = ingest(vault, drop, [at(0)])
    low_disk(vault, monkeypatch, 1)
    daemon = Daemon(vault)
    with caplog.at_level(logging.INFO, logger="ringfence.daemon"):
        daemon._periodic()
    assert vault.clips.get(ids[at(0)]).shredded
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and "LOW DISK SPACE" in warnings[0].getMessage()
    assert any("LOW DISK SPACE" in e for e in daemon.stats.errors)
    assert any("shredded 1 clip(s)" in r.getMessage() for r in caplog.records)


def test_cli_status_and_retention_run_say_so(vault: Vault, drop: Path) -> None:
    root = vault.root
    config = root / "config.toml"
    text = config.read_text()
    assert tomllib.loads(text)["retention"]["min_free_bytes"] > 0
    config.write_text(
        text.replace(
            f"min_free_bytes = {vault.config.min_free_bytes}", f"min_free_bytes = {1 << 60}"
        )
    )
    assert "LOW DISK SPACE" in run_cli(root, "status").stdout
    res = run_cli(root, "retention", "run")
    assert "LOW DISK SPACE" in res.stderr
