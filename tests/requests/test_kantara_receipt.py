"""`receipt show --kantara` against the Kantara Consent Receipt v1.1 schema itself.

The schema and the specification's own example are read from the shared
standards folder beside the project (``../shared/standards``), unchanged. The
example is the control: it must validate, so a test that passes ours is a
test of the schema, not of our reading of it.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.tools import run_cli
from vault import receipts
from vault.canonical import parse_canonical
from vault.config import Config
from vault.errors import UsageError, VaultError
from vault.ingest.daemon import Daemon, DaemonOptions
from vault.receipts import handover
from vault.service import Vault

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STANDARDS = PROJECT_ROOT.parent / "shared" / "standards"
SCHEMA = STANDARDS / "kantara-consent-receipt-v1_1-schema.jsonc"
EXAMPLE = STANDARDS / "kantara-consent-receipt-v1_1-example.json"

REQ = {
    "requester": "DC Smith",
    "organisation": "Met Police",
    "kind": "police",
    "contact": "dc.smith@police.example",
    "basis": "warrant",
    "reference": "W-1142",
    "reason": "burglary at no. 12",
    "cameras": ["front"],
    "from": "2000-01-01T00:00Z",
    "to": "2100-01-01T00:00Z",
}


def _load_schema() -> dict[str, Any]:
    if not SCHEMA.is_file() or not EXAMPLE.is_file():
        reason = f"the Kantara schema and example are not in {STANDARDS}"
        if os.environ.get("RINGFENCE_REQUIRE_TOOLS") == "1" or os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    # The standards folder's README: drop lines whose first non-blank
    # characters are `//` before parsing.
    text = "\n".join(
        line
        for line in SCHEMA.read_text("utf-8").splitlines()
        if not line.lstrip().startswith("//")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


@pytest.fixture(scope="module")
def validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    schema = _load_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _errors(validator: Any, doc: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)
    ]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real vault with an export, an approval's receipt and a refusal's."""
    from tests.conftest import FAST_LOG_N
    from tests.tools import PASSPHRASE

    root = tmp_path_factory.mktemp("kantara")
    vault = Vault.init(root / "vault", PASSPHRASE, log_n=FAST_LOG_N)
    drop = root / "drop"
    drop.mkdir()
    vault.cameras.add("front", drop)
    for i in range(2):
        (drop / f"c{i}.mp4").write_bytes(os.urandom(5_000) + bytes([i]))
    Daemon(vault, DaemonOptions(once=True, settle_seconds=0)).run()
    approved = vault.requests.add(REQ)
    vault.requests.decide(
        approved,
        approve=True,
        reason="a warrant was shown",
        terms="only for case W-1142; delete when the case closes",
        expires=datetime.now(UTC) + timedelta(days=30),
    )
    decision_folder = root / "decision"
    vault.releases.write_decision_receipt(approved, decision_folder)
    export = root / "export"
    vault.releases.export(approved, export)
    refused = vault.requests.add(
        {
            **REQ,
            "requester": "Ned",
            "organisation": "next door",
            "kind": "neighbour",
            "basis": "emergency",
            "contact": None,
            "reference": None,
            "reason": "my car",
        }
    )
    vault.requests.decide(refused, approve=False, reason="no emergency shown")
    refusal = root / "refusal"
    vault.releases.write_decision_receipt(refused, refusal)
    keys = vault.owner_keys()
    vault.close()
    return {
        "vault": root / "vault",
        "export": export,
        "decision": decision_folder,
        "refusal": refusal,
        "keys": keys,
    }


def _receipt(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = parse_canonical((folder / "receipt.json").read_bytes())
    return data


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_the_specifications_example_validates(validator: Any) -> None:
    """The control: the schema as read here accepts the spec's own example."""
    example = json.loads(EXAMPLE.read_text("utf-8"))
    assert _errors(validator, example) == []
    broken = {**example, "consentTimestamp": "2017-11-13T17:00:00Z"}
    assert _errors(validator, broken)  # and the schema does reject things


@pytest.mark.parametrize("which", ["export", "decision"])
def test_kantara_rendering_validates(world: dict[str, Any], validator: Any, which: str) -> None:
    res = run_cli(world["vault"], "receipt", "show", str(world[which]), "--kantara")
    doc = json.loads(res.stdout)
    assert _errors(validator, doc) == []
    assert "" not in _strings(doc), "a member is filled with an empty string"


def test_kantara_model_names_who_consents(world: dict[str, Any]) -> None:
    """The owner consents; the requester's organisation controls the copy."""
    receipt = _receipt(world["export"])
    doc = receipts.to_kantara(receipt)
    origin = receipt["controller"]["vault_origin"]
    assert doc["piiPrincipalId"] == f"{origin}/owner"
    assert doc["publicKey"] == receipt["signature"]["public_key"]
    (controller,) = doc["piiControllers"]
    assert controller["piiController"] == "Met Police"
    assert controller["contact"].startswith("DC Smith")
    assert controller["email"] == "dc.smith@police.example"
    assert isinstance(controller["address"], dict)
    decided = datetime.strptime(receipt["decision"]["decided_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert doc["consentTimestamp"] == int(decided.replace(tzinfo=UTC).timestamp())
    (purpose,) = doc["services"][0]["purposes"]
    assert purpose["purpose"] == REQ["reason"]
    assert purpose["consentType"] == "EXPLICIT"
    assert purpose["thirdPartyDisclosure"] is True
    assert purpose["thirdPartyName"] == "DC Smith (Met Police)"
    assert purpose["termination"] == receipt["decision"]["expires_at"]
    assert doc["x-ringfence"]["legalBasis"] == "warrant"
    assert doc["x-ringfence"]["terms"] == receipt["decision"]["terms"]


def test_a_refusal_has_no_kantara_form(world: dict[str, Any]) -> None:
    """Chosen: a usage error, never a document that could pass for consent."""
    with pytest.raises(UsageError, match="no form for a refusal"):
        receipts.to_kantara(_receipt(world["refusal"]))
    res = run_cli(
        world["vault"], "receipt", "show", str(world["refusal"]), "--kantara", check=False
    )
    assert res.returncode == 2
    assert res.stdout == ""
    assert "Kantara Consent Receipt v1.1 has no form for a refusal" in res.stderr
    assert "Traceback" not in res.stderr
    # The refusal's own receipt still renders and verifies.
    assert "refused" in run_cli(world["vault"], "receipt", "show", str(world["refusal"])).stdout
    assert (
        "verified: refused"
        in run_cli(world["vault"], "receipt", "verify", str(world["refusal"])).stdout
    )


def test_a_receipt_from_before_the_record_block_still_renders(
    world: dict[str, Any], validator: Any
) -> None:
    old = _receipt(world["export"])
    del old["record"]
    old["jurisdiction"] = None
    doc = receipts.to_kantara(old)
    assert _errors(validator, doc) == []
    assert doc["language"] == "en" and doc["jurisdiction"] == "unspecified"


def test_the_record_block_carries_the_ts_27560_elements(world: dict[str, Any]) -> None:
    approved = _receipt(world["export"])
    assert approved["record"] == {
        "language": "en",
        "notice": "only for case W-1142; delete when the case closes",
        "storage_location": "the requester's copy",
        "retention_until": approved["decision"]["expires_at"],
        "owner_contact": None,
    }
    refused = _receipt(world["refusal"])["record"]
    assert refused["storage_location"] is None and refused["retention_until"] is None


def test_the_owner_contact_and_jurisdiction_come_from_config(tmp_path: Path) -> None:
    from tests.conftest import FAST_LOG_N
    from tests.tools import PASSPHRASE

    vault = Vault.init(tmp_path / "vault", PASSPHRASE, log_n=FAST_LOG_N)
    config_path = vault.layout.config
    vault.close()
    text = config_path.read_text("utf-8")
    config_path.write_text(
        text + '\n[receipt]\njurisdiction = "GB"\ncontact = "owner@home.example"\n'
    )
    vault = Vault.open(tmp_path / "vault")
    try:
        vault.unlock(PASSPHRASE)
        drop = tmp_path / "drop"
        drop.mkdir()
        vault.cameras.add("front", drop)
        (drop / "c.mp4").write_bytes(os.urandom(5_000))
        Daemon(vault, DaemonOptions(once=True, settle_seconds=0)).run()
        rid = vault.requests.add(REQ)
        receipt = vault.requests.decide(rid, approve=True, reason="ok").receipt
    finally:
        vault.close()
    assert receipt["jurisdiction"] == "GB"
    assert receipt["record"]["owner_contact"] == "owner@home.example"
    doc = receipts.to_kantara(receipt)
    assert doc["jurisdiction"] == "GB"
    assert doc["x-ringfence"]["ownerContact"] == "owner@home.example"
    # No --expires: exports are allowed until the request is withdrawn.
    assert doc["services"][0]["purposes"][0]["termination"] == receipts.NO_EXPIRY
    # Saving the config keeps the settings.
    cfg = Config.from_toml(config_path.read_bytes(), config_path)
    again = Config.from_toml(cfg.to_toml(), config_path)
    assert (again.receipt_jurisdiction, again.receipt_contact) == ("GB", "owner@home.example")
    for bad in (
        'contact = ""',
        'contact = "two\\nlines"',
        "contact = 7",
        f'contact = "{"x" * 201}"',
    ):
        config_path.write_text(text + f"\n[receipt]\n{bad}\n")
        with pytest.raises(VaultError, match=r"\[receipt\] contact"):
            Config.from_toml(config_path.read_bytes(), config_path)


def test_a_receipt_signed_before_the_record_block_still_verifies(
    world: dict[str, Any], tmp_path: Path
) -> None:
    """Receipts signed before ``record`` and a configured jurisdiction existed
    verify as they did: the new members are not required."""
    import shutil

    from vault.service.release import write_receipt_files

    body = {k: v for k, v in _receipt(world["export"]).items() if k not in ("signature", "record")}
    body["jurisdiction"] = None
    old = receipts.sign(body, world["keys"].signing_key)
    folder = tmp_path / "old-export"
    shutil.copytree(world["export"], folder)
    for name in handover.all_files():
        (folder / name).unlink()
    write_receipt_files(folder, old)
    report = receipts.verify_folder(folder)
    assert report.ok, [c for c in report.checks if not c.ok]
