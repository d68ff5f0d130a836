"""The real command line: holds, `retention run`, `clips shred`, then a byte search."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.retention.conftest import PATTERN, at, clip_name, files_containing, leftovers
from tests.tools import copy_vault, run_cli
from vault.retention import verify_record
from vault.timeutil import iso


def catalog_headers(vault: Path) -> dict[str, bytes]:
    conn = sqlite3.connect(f"file:{vault / 'catalog.db'}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT id, header FROM clip").fetchall()
    finally:
        conn.close()
    return {cid: bytes(h) for cid, h in rows if h is not None}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    """Built once: a vault with five clips long past their camera's 30-day retention."""
    root = tmp_path_factory.mktemp("retention-cli")
    vault, drop = root / "vault", root / "drop"
    drop.mkdir()
    run_cli(vault, "init", "--kdf-log-n", "10")
    run_cli(
        vault, "camera", "add", "front", str(drop), "--pattern", PATTERN, "--retention-days", "30"
    )
    times = {"old": at(0), "old2": at(1), "held": at(2), "claimed": at(3), "spare": at(4)}
    for t in times.values():
        (drop / clip_name(t)).write_bytes(bytes(range(256)) * 20 + t.isoformat().encode())
    run_cli(vault, "daemon", "--once")
    listed = json.loads(run_cli(vault, "clips", "list", "--json").stdout)
    by_time = {c["captured_at"]: c["id"] for c in listed}
    ids = {k: by_time[iso(t)] for k, t in times.items()}
    return {"vault": vault, "ids": ids, "times": times}


def _hold_and_claim(vault: Path, times: dict) -> tuple[str, str]:  # type: ignore[type-arg]
    """A manual hold on the `held` clip and a pending request for the `claimed` one."""
    t = times["held"]
    hid = run_cli(
        vault,
        "hold",
        "add",
        "--camera",
        "front",
        "--from",
        iso(t),
        "--to",
        iso(t.replace(second=1)),
        "--reason",
        "insurance claim",
        passphrase=None,
    ).stdout.strip()
    t = times["claimed"]
    rid = run_cli(
        vault,
        "request",
        "add",
        "--requester",
        "PC Jones",
        "--org",
        "Police",
        "--kind",
        "police",
        "--basis",
        "warrant",
        "--reason",
        "theft",
        "--camera",
        "front",
        "--from",
        iso(t),
        "--to",
        iso(t.replace(minute=5)),
        passphrase=None,
    ).stdout.strip()
    return hid, rid


@pytest.fixture
def world(template: dict, tmp_path: Path) -> dict:  # type: ignore[type-arg]
    """This test's own copy of the template, with the hold and the request in place."""
    vault = copy_vault(template["vault"], tmp_path / "vault")
    hid, rid = _hold_and_claim(vault, template["times"])
    return {**template, "vault": vault, "root": tmp_path, "hold": hid, "request": rid}


def test_holds_from_the_command_line(template: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    vault, times = copy_vault(template["vault"], tmp_path / "vault"), template["times"]
    hid, rid = _hold_and_claim(vault, times)
    assert hid.startswith("hld_")
    listed = json.loads(run_cli(vault, "hold", "list", "--json").stdout)
    assert {(h["kind"], h["id"], h["state"]) for h in listed} == {
        ("hold", hid, "active"),
        ("request", rid, "active"),
    }
    text = run_cli(vault, "hold", "list").stdout
    assert hid in text and rid in text and "insurance claim" in text
    temp = run_cli(
        vault,
        "hold",
        "add",
        "--camera",
        "front",
        "--from",
        iso(times["spare"]),
        "--to",
        iso(times["spare"].replace(second=1)),
        "--reason",
        "brief",
        "--until",
        "2999-01-01T00:00Z",
    ).stdout.strip()
    out = run_cli(vault, "hold", "release", temp, "--reason", "not needed", "--json")
    assert json.loads(out.stdout)["state"] == "released"
    again = run_cli(vault, "hold", "release", temp, "--reason", "x", check=False)
    assert again.returncode == 7 and "already released" in again.stderr
    bad = run_cli(
        vault,
        "hold",
        "add",
        "--camera",
        "nope",
        "--from",
        "2020-01-01",
        "--to",
        "2020-01-02",
        "--reason",
        "x",
        check=False,
    )
    assert bad.returncode == 3
    all_holds = json.loads(run_cli(vault, "hold", "list", "--all", "--json").stdout)
    assert {h["id"] for h in all_holds} == {hid, rid, temp}


def test_clips_shred_refuses_a_held_clip(world: dict) -> None:  # type: ignore[type-arg]
    res = run_cli(
        world["vault"],
        "clips",
        "shred",
        world["ids"]["held"],
        "--reason",
        "x",
        passphrase=None,
        check=False,
    )
    assert res.returncode == 7 and world["hold"] in res.stderr


def test_retention_run_dry_run_then_real_and_byte_search(world: dict) -> None:  # type: ignore[type-arg]
    vault, ids = world["vault"], world["ids"]
    before = catalog_headers(vault)
    assert set(before) == set(ids.values())
    dry = json.loads(run_cli(vault, "retention", "run", "--dry-run", "--json").stdout)
    expect_gone = {ids["old"], ids["old2"], ids["spare"]}
    assert {c["id"] for c in dry["shredded"]} == expect_gone and dry["record"] is None
    assert catalog_headers(vault) == before

    out = json.loads(run_cli(vault, "retention", "run", "--json", passphrase=None).stdout)

    assert {c["id"] for c in out["shredded"]} == expect_gone
    assert {c["id"]: c["held_by"][0]["id"] for c in out["held"]} == {
        ids["held"]: world["hold"],
        ids["claimed"]: world["request"],
    }
    assert out["record"].startswith("del_")
    after = catalog_headers(vault)
    assert set(after) == {ids["held"], ids["claimed"]}
    # Byte by byte, every file in the vault folder: no shredded header, no piece of one.
    assert leftovers(vault, {cid: before[cid] for cid in expect_gone}) == {}
    for cid in after:  # and the search is able to see what is there
        assert files_containing(vault, before[cid]) == ["catalog.db"]
    listed = {c["id"] for c in json.loads(run_cli(vault, "clips", "list", "--json").stdout)}
    assert listed == {ids["held"], ids["claimed"]}
    shown = json.loads(run_cli(vault, "clips", "show", ids["old"], "--json").stdout)
    assert shown["shredded_at"] is not None
    refused = run_cli(
        vault, "clips", "export-age", ids["old"], "-o", str(world["root"] / "x.age"), check=False
    )
    assert refused.returncode == 7 and "shredded" in refused.stderr

    records = json.loads(run_cli(vault, "retention", "records", "--json").stdout)
    assert [r["id"] for r in records] == [out["record"]]
    key = json.loads(run_cli(vault, "key", "show", "--json").stdout)["device_verifier"]
    verify_record(records[0], key)
    assert "retention" in run_cli(vault, "retention", "records").stdout
    assert json.loads(run_cli(vault, "audit", "verify", "--json").stdout)["ok"] is True


def test_clips_shred_after_release(world: dict) -> None:  # type: ignore[type-arg]
    vault, ids = world["vault"], world["ids"]
    header = catalog_headers(vault)[ids["held"]]
    run_cli(vault, "hold", "release", world["hold"], "--reason", "claim settled")
    res = run_cli(vault, "clips", "shred", ids["held"], "--reason", "owner asked", passphrase=None)
    assert res.stdout.startswith(f"shredded {ids['held']}")
    assert files_containing(vault, header) == []
    missing = run_cli(vault, "clips", "shred", "clp_aaaaaaaaaaaaaaaa", "--reason", "x", check=False)
    assert missing.returncode == 3
