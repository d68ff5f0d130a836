"""The composed service: an injected clock and id generator reach every part,
and a refusal with its receipt is one service call."""

from __future__ import annotations

import itertools
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import FAST_LOG_N
from tests.tools import PASSPHRASE
from vault import ids
from vault.errors import UsageError
from vault.ingest.daemon import Daemon, DaemonOptions
from vault.service import RELEASABLE, Status, Vault
from vault.service.results import DecisionResult

REQ = {
    "requester": "DC Smith",
    "organisation": "Met",
    "kind": "police",
    "basis": "warrant",
    "reason": "burglary",
    "cameras": ["front"],
    "from": "2000-01-01T00:00Z",
    "to": "2100-01-01T00:00Z",
}
FIXED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_the_vaults_clock_and_ids_reach_the_log_the_daemon_and_every_service(
    tmp_path: Path,
) -> None:
    counter = itertools.count(1)

    def new_id(kind: str) -> str:
        return f"{ids.PREFIXES[kind]}_{next(counter):016d}"

    vault = Vault.init(
        tmp_path / "vault", PASSPHRASE, log_n=FAST_LOG_N, clock=lambda: FIXED, new_id=new_id
    )
    try:
        drop = tmp_path / "drop"
        vault.cameras.add("front", drop)
        (drop / "a.mp4").write_bytes(os.urandom(5000))
        Daemon(vault, DaemonOptions(once=True, settle_seconds=0)).run()
        rid = vault.requests.add(REQ)
        hold = vault.holds.add("front", FIXED.replace(year=2000), FIXED, "claim")
        made = [rid, hold, *(c.id for c in vault.clips.all())]
        assert all(i.split("_", 1)[1].isdigit() for i in made), made
        times = {e["time"] for _i, e in vault.audit.entries()}
        assert times == {"2026-11-28T12:00:00.000000Z"}, times
    finally:
        vault.close()


def test_refuse_signs_the_refusal_and_writes_its_receipt(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    rid = vault.requests.add(REQ)
    result = vault.releases.refuse(rid, "no warrant", tmp_path / "receipt")
    assert isinstance(result, DecisionResult)
    assert result.receipt["decision"]["outcome"] == "refused"
    assert result.receipt_path == tmp_path / "receipt" / "receipt.json"
    assert json.loads(result.receipt_path.read_text())["decision"]["outcome"] == "refused"
    assert vault.requests.get(rid).status == Status.REFUSED


def test_refuse_checks_the_receipt_folder_before_it_signs(vault: Vault, camera: Path) -> None:
    rid = vault.requests.add(REQ)
    with pytest.raises(UsageError, match="inside the vault folder"):
        vault.releases.refuse(rid, "no warrant", vault.root / "receipt")
    assert vault.requests.get(rid).status == Status.PENDING
    assert "request.decided" not in {e["type"] for _i, e in vault.audit.entries()}
    assert vault.releases.refuse(rid, "no warrant").receipt_path is None


def test_one_releasable_set_answers_for_statuses_and_outcomes() -> None:
    assert "approved" in RELEASABLE and "partly_approved" in RELEASABLE
    assert "refused" not in RELEASABLE and Status.PENDING not in RELEASABLE
