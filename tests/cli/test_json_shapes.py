"""The shape of every ``--json`` result the services' typed results produce:
the keys, their nesting and the JSON type of each value, as scripts rely on.

One vault walks through a whole life (ingest, requests approved, exported and
refused, a hold, a shred, retention runs), each step through the real CLI, and
each step's JSON is compared with the shape it has always had. A key renamed,
added, dropped or moved into another object fails here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.tools import run_cli


def shape(value: Any) -> Any:
    """The JSON value's keys and value types, without its values. A signed
    receipt is its own format (docs/receipts.md), checked by the receipt
    tests: here it is only named."""
    if isinstance(value, dict):
        return {k: "receipt" if k == "receipt" else shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        shapes: list[Any] = []
        for item in value:
            s = shape(item)
            if s not in shapes:
                shapes.append(s)
        return shapes
    if value is None:
        return "null"
    return type(value).__name__


def _json(vault: Path, *args: str) -> Any:
    return json.loads(run_cli(vault, *args, "--json").stdout)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("shapes")
    vault, drop = root / "vault", root / "drop"
    drop.mkdir()
    run_cli(vault, "init", "--kdf-log-n", "10")
    run_cli(
        vault,
        "camera",
        "add",
        "front",
        str(drop),
        "--pattern",
        "front_%Y%m%d_%H%M%S%z",
        "--retention-days",
        "1",
    )
    for i, stamp in enumerate(
        [
            "20200101_000000",
            "20200101_000100",
            "20200301_000000",
            "20200601_000000",
            "20200901_000000",
            "20201201_000000",
        ]
    ):
        (drop / f"front_{stamp}+0000.mp4").write_bytes(os.urandom(3000 + i))
    run_cli(vault, "daemon", "--once")
    clips = {c["captured_at"][:10]: c["id"] for c in _json(vault, "clips", "list")}
    out: dict[str, Any] = {}

    def request(start: str, end: str) -> str:
        made = _json(
            vault,
            "request",
            "add",
            "--requester",
            "DC Smith",
            "--org",
            "Met Police",
            "--kind",
            "police",
            "--basis",
            "warrant",
            "--reason",
            "burglary",
            "--camera",
            "front",
            "--from",
            start,
            "--to",
            end,
        )
        out["request add"] = made
        return str(made["id"])

    approved = request("2020-01-01T00:00Z", "2020-01-01T00:10Z")
    refused = request("2020-03-01T00:00Z", "2020-03-01T00:10Z")
    out["approve"] = _json(vault, "approve", approved, "--reason", "warrant checked")
    out["export"] = _json(vault, "export", approved, "--out", str(root / "export"))
    out["refuse"] = _json(
        vault, "refuse", refused, "--reason", "no warrant", "--out", str(root / "refusal")
    )
    out["refusal receipt"] = json.loads((root / "refusal" / "receipt.json").read_text())
    out["export receipt"] = json.loads((root / "export" / "receipt.json").read_text())
    out["export folder"] = str(root / "export")
    out["refusal folder"] = str(root / "refusal")
    out["approved"], out["refused"] = approved, refused
    out["request show"] = _json(vault, "request", "show", approved)
    out["request list"] = _json(vault, "request", "list")
    out["hold add"] = _json(
        vault,
        "hold",
        "add",
        "--camera",
        "front",
        "--from",
        "2020-09-01T00:00Z",
        "--to",
        "2020-09-01T00:10Z",
        "--reason",
        "insurance claim",
    )
    out["hold list"] = _json(vault, "hold", "list")
    out["clips shred"] = _json(vault, "clips", "shred", clips["2020-06-01"], "--reason", "mine")
    out["retention run --dry-run"] = _json(vault, "retention", "run", "--dry-run")
    out["retention run"] = _json(vault, "retention", "run")
    out["status"] = _json(vault, "status")
    out["clips verify"] = _json(vault, "clips", "verify")
    return out


EXPECTED: dict[str, Any] = {
    "approve": {"receipt": "receipt"},
    "clips shred": {
        "clip": "str",
        "record": "str",
        "scrub": {"copies_left": [], "vacuumed": "bool", "wal_truncated": "bool"},
        "shredded_at": "str",
    },
    "clips verify": {"checked": "int", "notes": [], "ok": "bool", "problems": []},
    "export": {"export": "str", "files": "int", "out": "str"},
    "hold add": {
        "cameras": ["str"],
        "created_at": "str",
        "from": "str",
        "id": "str",
        "kind": "str",
        "reason": "str",
        "release_reason": "null",
        "released_at": "null",
        "state": "str",
        "to": "str",
        "until": "null",
    },
    "hold list": [
        {
            "cameras": ["str"],
            "created_at": "str",
            "from": "str",
            "id": "str",
            "kind": "str",
            "reason": "str",
            "release_reason": "null",
            "released_at": "null",
            "state": "str",
            "to": "str",
            "until": "null",
        },
        {
            "cameras": ["str"],
            "created_at": "str",
            "from": "str",
            "id": "str",
            "kind": "str",
            "reason": "str",
            "release_reason": "null",
            "released_at": "null",
            "state": "str",
            "to": "str",
            "until": "str",
        },
    ],
    "refuse": {"receipt": "receipt", "receipt_path": "str"},
    "request add": {"id": "str"},
    "request list": [
        {
            "attachments": [],
            "basis": "str",
            "contact": "null",
            "created_at": "str",
            "deadline": "null",
            "decision": "null",
            "exports": [],
            "id": "str",
            "kind": "str",
            "near_deadline": "bool",
            "organisation": "str",
            "reason": "str",
            "recipient": "null",
            "reference": "null",
            "requester": "str",
            "scope": {"cameras": ["str"], "from": "str", "to": "str"},
            "status": "str",
            "urgent": "bool",
        }
    ],
    "request show": {
        "attachments": [],
        "basis": "str",
        "clips_in_scope": [
            {
                "camera": "str",
                "captured_at": "str",
                "id": "str",
                "ingested_at": "str",
                "media": {
                    "codec": "null",
                    "container": "null",
                    "duration_s": "null",
                    "height": "null",
                    "width": "null",
                },
                "original_name": "str",
                "payload_sha256": "str",
                "payload_size": "int",
                "sha256": "str",
                "shredded_at": "null",
                "size": "int",
                "truncated": "bool",
            }
        ],
        "contact": "null",
        "created_at": "str",
        "deadline": "null",
        "decision": {
            "clips": ["str"],
            "decided_at": "str",
            "expires_at": "null",
            "id": "str",
            "outcome": "str",
            "reason": "str",
            "terms": "null",
        },
        "exports": [{"created_at": "str", "format": "str", "id": "str", "out_dir": "str"}],
        "id": "str",
        "kind": "str",
        "near_deadline": "bool",
        "organisation": "str",
        "reason": "str",
        "recipient": "null",
        "reference": "null",
        "requester": "str",
        "scope": {"cameras": ["str"], "from": "str", "to": "str"},
        "status": "str",
        "urgent": "bool",
    },
    "retention run": {
        "at": "str",
        "disk": {
            "free_bytes": "int",
            "low": "bool",
            "message": "str",
            "min_free_bytes": "int",
            "shred_on_pressure": "bool",
        },
        "dry_run": "bool",
        "grace_days": "int",
        "held": [
            {
                "camera": "str",
                "captured_at": "str",
                "expires_at": "str",
                "held_by": [{"id": "str", "kind": "str", "reason": "str", "until": "str"}],
                "id": "str",
                "payload_size": "int",
            },
            {
                "camera": "str",
                "captured_at": "str",
                "expires_at": "str",
                "held_by": [{"id": "str", "kind": "str", "reason": "str", "until": "null"}],
                "id": "str",
                "payload_size": "int",
            },
        ],
        "record": "str",
        "scrub": {"copies_left": [], "vacuumed": "bool", "wal_truncated": "bool"},
        "shredded": [
            {
                "camera": "str",
                "captured_at": "str",
                "expires_at": "str",
                "id": "str",
                "payload_size": "int",
                "rule": "str",
                "why": "str",
            }
        ],
    },
    "retention run --dry-run": {
        "at": "str",
        "disk": {
            "free_bytes": "int",
            "low": "bool",
            "message": "str",
            "min_free_bytes": "int",
            "shred_on_pressure": "bool",
        },
        "dry_run": "bool",
        "grace_days": "int",
        "held": [
            {
                "camera": "str",
                "captured_at": "str",
                "expires_at": "str",
                "held_by": [{"id": "str", "kind": "str", "reason": "str", "until": "str"}],
                "id": "str",
                "payload_size": "int",
            },
            {
                "camera": "str",
                "captured_at": "str",
                "expires_at": "str",
                "held_by": [{"id": "str", "kind": "str", "reason": "str", "until": "null"}],
                "id": "str",
                "payload_size": "int",
            },
        ],
        "record": "null",
        "scrub": "null",
        "shredded": [
            {
                "camera": "str",
                "captured_at": "str",
                "expires_at": "str",
                "id": "str",
                "payload_size": "int",
                "rule": "str",
                "why": "str",
            }
        ],
    },
    "status": {
        "audit_size": "int",
        "cameras": [
            {
                "clips": "int",
                "ftp": "bool",
                "last_ingest": "str",
                "name": "str",
                "time_from_mtime": "int",
                "truncated": "int",
            }
        ],
        "clips": "int",
        "daemon": {
            "errors": [],
            "last_beat": "str",
            "pid": "null",
            "running": "bool",
            "started_at": "null",
        },
        "files_waiting": "int",
        "folders": [
            {
                "camera": "str",
                "message": "null",
                "missing": "bool",
                "path": "str",
                "problem": "null",
            }
        ],
        "free_bytes": "int",
        "held_back": [],
        "last_ingest": "str",
        "low_disk": "bool",
        "receivers": {},
        "store_bytes": "int",
        "truncated": "int",
        "unknown_payloads": [],
        "vault": "str",
    },
}


@pytest.mark.parametrize("command", sorted(EXPECTED))
def test_the_json_of_each_command_keeps_its_shape(outputs: dict[str, Any], command: str) -> None:
    assert shape(outputs[command]) == EXPECTED[command]


def test_the_receipts_and_folders_in_the_json_are_the_ones_written(
    outputs: dict[str, Any],
) -> None:
    approval, refusal = outputs["approve"]["receipt"], outputs["refuse"]["receipt"]
    assert approval["request"]["id"] == outputs["approved"]
    assert approval["decision"]["outcome"] == "approved" and len(approval["clips"]) == 2
    assert refusal == outputs["refusal receipt"]
    assert refusal["decision"]["outcome"] == "refused" and refusal["clips"] == []
    assert outputs["refuse"]["receipt_path"] == outputs["refusal folder"] + "/receipt.json"
    export = outputs["export"]
    assert export["out"] == outputs["export folder"]
    assert export["export"] == outputs["export receipt"]["export"]["id"]
    assert export["files"] == len(outputs["export receipt"]["clips"]) == 2
