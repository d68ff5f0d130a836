"""The whole path through the real CLI: ingest -> request -> approve a subset ->
export in both formats -> verify offline; and tampering with anything is caught."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.tools import copy_vault, require_tool, run_cli
from vault import age


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    """Built once: a vault with four clips and a pending police request for three."""
    root = tmp_path_factory.mktemp("flow")
    vault = root / "vault"
    drop = root / "drop"
    drop.mkdir()
    run_cli(vault, "init", "--kdf-log-n", "10")
    run_cli(vault, "camera", "add", "front", str(drop), "--pattern", "front_%Y%m%d_%H%M%S%z")
    originals = {}
    for i, name in enumerate(
        [
            "front_20261127_220000+0000.mp4",
            "front_20261127_231500+0000.mp4",
            "front_20261128_013000+0000.mp4",
            "front_20261128_120000+0000.mp4",
        ]
    ):
        data = os.urandom(50_000 + i * 70_000)
        (drop / name).write_bytes(data)
        originals[name] = data
    run_cli(vault, "daemon", "--once")
    clips = json.loads(run_cli(vault, "clips", "list", "--json").stdout)
    requester = age.generate_identity()
    rid = run_cli(
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
        "--reference",
        "W-1142",
        "--reason",
        "burglary at no. 12",
        "--camera",
        "front",
        "--from",
        "2026-11-27T21:00Z",
        "--to",
        "2026-11-28T02:00Z",
        "--recipient",
        str(requester.recipient),
    ).stdout.strip()
    shown = json.loads(run_cli(vault, "request", "show", rid, "--json").stdout)
    in_scope = [c["id"] for c in shown["clips_in_scope"]]
    approved = root / "approved"
    copy_vault(vault, approved)
    run_cli(
        approved,
        "approve",
        rid,
        "--reason",
        "warrant checked",
        "--exclude-clip",
        in_scope[2],
        "--terms",
        "evidence use only",
    )
    plain = root / "export-plain"
    run_cli(approved, "export", rid, "--out", str(plain))
    key = json.loads(run_cli(approved, "key", "show", "--json").stdout)["signing_public_key"]
    return {
        "vault": vault,
        "approved_vault": approved,
        "clips": clips,
        "rid": rid,
        "in_scope": in_scope,
        "originals": originals,
        "requester": requester,
        "plain": plain,
        "owner_key": key,
    }


@pytest.fixture
def world(template: dict, tmp_path: Path) -> dict:  # type: ignore[type-arg]
    """This test's own vault with the pending request (a copy of the template's)."""
    own = tmp_path / "world"
    own.mkdir()
    return {**template, "root": own, "vault": copy_vault(template["vault"], own / "vault")}


@pytest.fixture
def approved(template: dict, tmp_path: Path) -> dict:  # type: ignore[type-arg]
    """This test's own vault whose request is partly approved (two of three clips)."""
    own = tmp_path / "world"
    own.mkdir()
    return {**template, "root": own, "vault": copy_vault(template["approved_vault"], own / "vault")}


def test_scope_and_partial_approval(world: dict) -> None:  # type: ignore[type-arg]
    vault, rid = world["vault"], world["rid"]
    shown = json.loads(run_cli(vault, "request", "show", rid, "--json").stdout)
    in_scope = [c["id"] for c in shown["clips_in_scope"]]
    assert len(in_scope) == 3  # the noon clip is outside the window
    outside = next(c["id"] for c in world["clips"] if c["id"] not in in_scope)
    bad = run_cli(vault, "approve", rid, "--reason", "x", "--clip", outside, check=False)
    assert bad.returncode == 7 and "not in the request's scope" in bad.stderr
    pending = run_cli(vault, "export", rid, "--out", str(world["root"] / "too-early"), check=False)
    assert pending.returncode == 7 and "pending" in pending.stderr
    out = run_cli(
        vault,
        "approve",
        rid,
        "--reason",
        "warrant checked",
        "--exclude-clip",
        in_scope[2],
        "--terms",
        "evidence use only",
        "--json",
    )
    receipt = json.loads(out.stdout)["receipt"]
    assert receipt["decision"]["outcome"] == "partly_approved"
    assert sorted(c["id"] for c in receipt["clips"]) == sorted(in_scope[:2])
    listed = json.loads(run_cli(vault, "request", "list", "--json").stdout)
    assert listed[0]["status"] == "partly_approved"


def test_plain_export_is_byte_identical_and_verifies(approved: dict) -> None:  # type: ignore[type-arg]
    world = approved
    vault, rid = world["vault"], world["rid"]
    out = world["root"] / "export-plain"
    run_cli(vault, "export", rid, "--out", str(out))
    files = sorted(p for p in (out / "clips").rglob("*") if p.is_file())
    assert len(files) == 2
    by_hash = {hashlib.sha256(d).hexdigest(): d for d in world["originals"].values()}
    for f in files:
        assert hashlib.sha256(f.read_bytes()).hexdigest() in by_hash
    key = json.loads(run_cli(vault, "key", "show", "--json").stdout)["signing_public_key"]
    # The requester has no vault: run verify with no RINGFENCE_VAULT at all.
    env = {k: v for k, v in os.environ.items() if not k.startswith("RINGFENCE_")}
    res = run_cli(
        world["root"] / "nowhere", "receipt", "verify", str(out), "--owner-key", key, env=env
    )
    assert "verified: partly approved" in res.stdout
    assert not (world["root"] / "nowhere").exists()
    kantara = json.loads(run_cli(vault, "receipt", "show", str(out), "--kantara").stdout)
    assert kantara["version"] == "KI-CR-v1.1.0" and kantara["services"][0]["purposes"]
    assert key == world["owner_key"]


def test_age_export_opens_for_the_requester_only(approved: dict) -> None:  # type: ignore[type-arg]
    world = approved
    vault, rid = world["vault"], world["rid"]
    out = world["root"] / "export-age"
    run_cli(vault, "export", rid, "--out", str(out), "--format", "age")
    run_cli(vault, "receipt", "verify", str(out))
    files = sorted(p for p in (out / "clips").rglob("*.age"))
    assert len(files) == 2
    originals = set(world["originals"].values())
    for f in files:
        assert age.decrypt_bytes(f.read_bytes(), [world["requester"]]) in originals
    age_bin = require_tool("age")
    ident = world["root"] / "requester.key"
    ident.write_text(str(world["requester"]) + "\n")
    got = subprocess.run(
        [age_bin, "-d", "-i", str(ident), str(files[0])], capture_output=True, check=True
    )
    assert got.stdout in originals


def _flip(path: Path, offset: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset % len(raw)] ^= 0x01
    path.write_bytes(bytes(raw))


def test_any_changed_byte_fails_verification(world: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    src = world["plain"]
    names = [p.relative_to(src) for p in src.rglob("*") if p.is_file()]
    # 2 clips, receipt.json, receipt.txt, audit-proof.txt and the handover files
    # (receipt.signed, receipt.sig, owner-key.pem, README.txt, SHA256SUMS).
    assert len(names) == 10
    for rel in names:
        size = (src / rel).stat().st_size
        for offset in sorted({0, size // 3, size // 2, size - 1}):
            copy = tmp_path / f"c-{len(list(tmp_path.iterdir()))}"
            shutil.copytree(src, copy)
            _flip(copy / rel, offset)
            res = run_cli(
                world["vault"],
                "receipt",
                "verify",
                str(copy),
                "--owner-key",
                world["owner_key"],
                check=False,
            )
            assert res.returncode == 6, f"flipping byte {offset} of {rel} went unnoticed"
            assert "FAIL" in res.stdout
            shutil.rmtree(copy)


def test_extra_missing_or_swapped_files_fail(world: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    src = world["plain"]
    extra = tmp_path / "extra"
    shutil.copytree(src, extra)
    (extra / "clips" / "front" / "bonus.mp4").write_bytes(b"smuggled")
    assert run_cli(world["vault"], "receipt", "verify", str(extra), check=False).returncode == 6
    missing = tmp_path / "missing"
    shutil.copytree(src, missing)
    next((missing / "clips").rglob("*.mp4")).unlink()
    assert run_cli(world["vault"], "receipt", "verify", str(missing), check=False).returncode == 6
    other = age.generate_identity()  # any valid key that is not the owner's
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    wrong_key = base64.b64encode(
        Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    ).decode()
    res = run_cli(
        world["vault"], "receipt", "verify", str(src), "--owner-key", wrong_key, check=False
    )
    assert res.returncode == 6 and "different key" in res.stdout
    assert other  # keeps the import honest


def test_refusal_receipt_verifies(world: dict) -> None:  # type: ignore[type-arg]
    vault = world["vault"]
    rid = run_cli(
        vault,
        "request",
        "add",
        "--requester",
        "Ned",
        "--org",
        "next door",
        "--kind",
        "neighbour",
        "--basis",
        "emergency",
        "--reason",
        "my car",
        "--camera",
        "front",
        "--from",
        "2026-11-27T00:00Z",
        "--to",
        "2026-11-29T00:00Z",
    ).stdout.strip()
    listed = json.loads(run_cli(vault, "request", "list", "--status", "pending", "--json").stdout)
    assert listed[0]["id"] == rid and listed[0]["urgent"] is True
    out = world["root"] / "refusal"
    run_cli(vault, "refuse", rid, "--reason", "no emergency shown", "--out", str(out))
    res = run_cli(vault, "receipt", "verify", str(out))
    assert "verified: refused" in res.stdout
    export = run_cli(vault, "export", rid, "--out", str(world["root"] / "nope"), check=False)
    assert export.returncode == 7 and "refused" in export.stderr
    again = run_cli(vault, "approve", rid, "--reason", "changed my mind", check=False)
    assert again.returncode == 7


def test_withdrawn_request_cannot_be_exported(world: dict) -> None:  # type: ignore[type-arg]
    vault = world["vault"]
    rid = run_cli(
        vault,
        "request",
        "add",
        "--requester",
        "A",
        "--org",
        "Acme",
        "--kind",
        "insurer",
        "--basis",
        "consent",
        "--reason",
        "claim",
        "--camera",
        "front",
        "--from",
        "2026-11-27T00:00Z",
        "--to",
        "2026-11-29T00:00Z",
    ).stdout.strip()
    run_cli(vault, "approve", rid, "--reason", "ok")
    run_cli(vault, "request", "withdraw", rid, "--reason", "claim settled")
    res = run_cli(vault, "export", rid, "--out", str(world["root"] / "w"), check=False)
    assert res.returncode == 7 and "withdrawn" in res.stderr


def test_the_audit_log_still_verifies(approved: dict) -> None:  # type: ignore[type-arg]
    world = approved
    run_cli(world["vault"], "request", "withdraw", world["rid"], "--reason", "case closed")
    res = run_cli(world["vault"], "audit", "verify", "--json")
    assert json.loads(res.stdout)["ok"] is True
    types = [
        e["type"] for e in json.loads(run_cli(world["vault"], "audit", "show", "--json").stdout)
    ]
    for t in (
        "request.created",
        "request.decided",
        "export.created",
        "clip.released",
        "request.withdrawn",
    ):
        assert t in types


def test_a_receipt_file_alone_still_checks_the_delivered_files(world: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    src = world["plain"]
    lone = tmp_path / "lone"
    lone.mkdir()
    shutil.copy(src / "receipt.json", lone / "receipt.json")
    res = run_cli(world["vault"], "receipt", "verify", str(lone / "receipt.json"), check=False)
    assert res.returncode == 6 and "cannot read" in res.stdout  # the clips are not there
    # Without receipt.txt beside it, a changed clip is still caught.
    copy = tmp_path / "copy"
    shutil.copytree(src, copy)
    (copy / "receipt.txt").unlink()
    _flip(next((copy / "clips").rglob("*.mp4")), 10)
    res = run_cli(world["vault"], "receipt", "verify", str(copy / "receipt.json"), check=False)
    assert res.returncode == 6 and "hash or size differs" in res.stdout
    # And unchanged, the receipt file path verifies.
    shutil.rmtree(copy)
    shutil.copytree(src, copy)
    run_cli(world["vault"], "receipt", "verify", str(copy / "receipt.json"))


def test_an_unpinned_signer_is_said_to_be_unauthenticated(world: dict) -> None:  # type: ignore[type-arg]
    src = world["plain"]
    res = run_cli(world["vault"], "receipt", "verify", str(src))
    assert "NOT authenticated" in res.stdout
    doc = json.loads(run_cli(world["vault"], "receipt", "verify", str(src), "--json").stdout)
    assert doc["ok"] is True and doc["signer_pinned"] is False
    doc = json.loads(
        run_cli(
            world["vault"],
            "receipt",
            "verify",
            str(src),
            "--json",
            "--owner-key",
            world["owner_key"],
        ).stdout
    )
    assert doc["ok"] is True and doc["signer_pinned"] is True


def test_symlinks_in_an_export_folder_fail(world: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    src = world["plain"]
    # A delivered file replaced by a symlink to identical bytes elsewhere.
    linked = tmp_path / "linked"
    shutil.copytree(src, linked)
    clip = next((linked / "clips").rglob("*.mp4"))
    outside = tmp_path / "elsewhere.mp4"
    shutil.copy(clip, outside)
    clip.unlink()
    clip.symlink_to(outside)
    res = run_cli(world["vault"], "receipt", "verify", str(linked), check=False)
    assert res.returncode == 6 and "symlink" in res.stdout
    # A symlinked folder added beside the delivered ones.
    extra = tmp_path / "extra-dir"
    shutil.copytree(src, extra)
    (extra / "clips" / "more").symlink_to(tmp_path)
    res = run_cli(world["vault"], "receipt", "verify", str(extra), check=False)
    assert res.returncode == 6 and "clips/more (a symlink)" in res.stdout


def test_malformed_but_signed_receipts_and_missing_paths_are_clear_errors(
    world: dict, tmp_path: Path
) -> None:  # type: ignore[type-arg]
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from vault import receipts
    from vault.canonical import canonical_json, parse_canonical

    body = parse_canonical((world["plain"] / "receipt.json").read_bytes())
    del body["signature"]
    for path, value in [
        (("request",), None),
        (("decision", "outcome"), 7),
        (("clips",), [{"id": "clp_x"}]),
        (("audit", "entries"), "none"),
    ]:
        doc = json.loads(json.dumps(body))
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        signed = receipts.sign(doc, Ed25519PrivateKey.generate())
        folder = tmp_path / f"bad-{'-'.join(path)}"
        folder.mkdir()
        (folder / "receipt.json").write_bytes(canonical_json(signed))
        for args in (
            ("verify", str(folder)),
            ("show", str(folder)),
            ("show", str(folder), "--kantara"),
        ):
            res = run_cli(world["vault"], "receipt", *args, check=False)
            assert res.returncode == 6, (path, args, res.stderr)
            assert "Traceback" not in res.stderr
            assert f"receipt field {path[0]}" in res.stdout + res.stderr
    res = run_cli(world["vault"], "receipt", "verify", str(tmp_path / "nothing-here"), check=False)
    assert res.returncode == 3 and "no such file" in res.stderr


def test_refuse_checks_its_out_folder_before_deciding(world: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    vault = world["vault"]
    rid = run_cli(
        vault,
        "request",
        "add",
        "--requester",
        "Ann",
        "--org",
        "-",
        "--kind",
        "insurer",
        "--basis",
        "consent",
        "--reason",
        "claim",
        "--camera",
        "front",
        "--from",
        "2026-11-27T00:00Z",
        "--to",
        "2026-11-29T00:00Z",
    ).stdout.strip()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "something").write_text("x")
    res = run_cli(vault, "refuse", rid, "--reason", "no", "--out", str(busy), check=False)
    assert res.returncode == 2 and "not an empty folder" in res.stderr
    shown = json.loads(run_cli(vault, "request", "show", rid, "--json").stdout)
    assert shown["status"] == "pending"  # nothing was decided
