"""A receipt's proofs must lead to the log the receipt names.

The threat model's "owner themselves, later": the owner's key can sign a
checkpoint for any origin (a second vault, a log made up for the occasion).
A receipt that names vault A but proves its entries against a checkpoint of
log B, signed by the same key, must not verify: tlog-proof checks a proof
against the log's origin as well as the trusted keys.
"""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FAST_LOG_N
from tests.tools import PASSPHRASE, run_cli
from vault import receipts
from vault.audit.note import Checkpoint, NoteSigner, open_checkpoint, sign_note, split_note
from vault.audit.proof import format_inclusion_proof, parse_inclusion_proof
from vault.canonical import canonical_json, parse_canonical
from vault.ingest.daemon import Daemon, DaemonOptions
from vault.receipts import handover
from vault.service import Vault
from vault.service.release import write_receipt_files

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


def _reprove(receipt: dict[str, Any], origin: str, signer: NoteSigner) -> dict[str, Any]:
    """The receipt with every proof moved to a checkpoint of *origin*: the same
    tree and the same signing key, only the origin line differs."""
    body = copy.deepcopy({k: v for k, v in receipt.items() if k != "signature"})
    for entry in body["audit"]["entries"]:
        proof = parse_inclusion_proof(entry["proof"])
        real = open_checkpoint(proof.checkpoint, [signer.verifier_key()])[0]
        note = sign_note(Checkpoint(origin, real.size, real.root).body(), [signer])
        entry["proof"] = format_inclusion_proof(proof.index, list(proof.hashes), note)
        body["audit"]["checkpoint"] = note
    return body


@pytest.fixture
def exported(tmp_path: Path) -> tuple[Path, Path, Any]:
    vault = Vault.init(tmp_path / "vault", PASSPHRASE, log_n=FAST_LOG_N)
    drop = tmp_path / "drop"
    drop.mkdir()
    vault.cameras.add("front", drop)
    (drop / "c.mp4").write_bytes(os.urandom(20_000))
    Daemon(vault, DaemonOptions(once=True, settle_seconds=0)).run()
    rid = vault.requests.add(REQ)
    vault.requests.decide(rid, approve=True, reason="warrant shown")
    out = tmp_path / "export"
    vault.releases.export(rid, out)
    keys = vault.owner_keys()
    vault.close()
    return tmp_path / "vault", out, keys


def test_a_checkpoint_of_another_origin_signed_by_the_owner_is_refused(
    exported: tuple[Path, Path, Any], tmp_path: Path
) -> None:
    vault, out, keys = exported
    receipt = parse_canonical((out / "receipt.json").read_bytes())
    origin = receipt["controller"]["vault_origin"]
    signer = keys.signer(origin)
    assert split_note(receipt["audit"]["checkpoint"])[0].startswith(origin + "\n")
    forged_folder = tmp_path / "forged"
    shutil.copytree(out, forged_folder)
    for name in handover.all_files():
        (forged_folder / name).unlink()
    forged = receipts.sign(
        _reprove(receipt, "ringfence.vault/another-log", signer), keys.signing_key
    )
    write_receipt_files(forged_folder, forged)
    # The control: the same re-signing with the real origin verifies.
    control_folder = tmp_path / "control"
    shutil.copytree(out, control_folder)
    for name in handover.all_files():
        (control_folder / name).unlink()
    write_receipt_files(
        control_folder, receipts.sign(_reprove(receipt, origin, signer), keys.signing_key)
    )
    assert receipts.verify_folder(control_folder).ok

    report = receipts.verify_folder(forged_folder)
    assert not report.ok
    failed = [c for c in report.checks if not c.ok]
    assert failed and all("another log" in c.detail for c in failed)
    res = run_cli(vault, "receipt", "verify", str(forged_folder), check=False)
    assert res.returncode == 6
    assert "another log" in res.stdout + res.stderr
    assert "ringfence.vault/another-log" in res.stdout + res.stderr
    assert canonical_json(forged) == (forged_folder / "receipt.json").read_bytes()
