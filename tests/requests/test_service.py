"""Requests and releases through the service: lapses, imports, and the one path to plaintext."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.tools import cli_env, run_cli
from vault.errors import IllegalTransition, NotFound, PolicyError, UsageError
from vault.ingest.daemon import Daemon, DaemonOptions
from vault.service import Vault

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


def ingest(vault: Vault, drop: Path, n: int = 3) -> None:
    for i in range(n):
        (drop / f"c{i}.mp4").write_bytes(os.urandom(10_000) + bytes([i]))
    Daemon(vault, DaemonOptions(once=True, settle_seconds=0)).run()


def test_a_deadline_passing_expires_a_pending_request(vault: Vault, camera: Path) -> None:
    ingest(vault, camera)
    deadline = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    rid = vault.requests.add({**REQ, "deadline": deadline.isoformat()})
    assert vault.requests.get(rid).status == "pending"
    real_clock = vault.clock.now
    vault.clock.set(lambda: deadline + timedelta(days=1))
    assert vault.requests.get(rid).status == "expired"
    with pytest.raises(IllegalTransition, match="expired"):
        vault.requests.decide(rid, approve=True, reason="late")
    vault.clock.set(real_clock)


def test_an_approval_lapses_at_its_expiry(vault: Vault, camera: Path, tmp_path: Path) -> None:
    ingest(vault, camera)
    rid = vault.requests.add(REQ)
    vault.requests.decide(
        rid, approve=True, reason="ok", expires=datetime.now(UTC) + timedelta(hours=1)
    )
    later = datetime.now(UTC) + timedelta(hours=2)
    vault.clock.set(lambda: later)
    with pytest.raises(PolicyError, match="expired"):
        vault.releases.export(rid, tmp_path / "out")
    assert vault.requests.get(rid).status == "expired"
    assert not (tmp_path / "out").exists()


def test_import_names_the_bad_field_and_stores_nothing(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    cases = {
        "unknown.json": ({**REQ, "colour": "red"}, "colour: unknown field"),
        "kind.json": ({**REQ, "kind": "spy"}, "kind: 'spy' is not one of"),
        "time.json": ({**REQ, "from": "yesterday"}, "from: 'yesterday' is not an ISO 8601"),
        "order.json": ({**REQ, "to": "1999-01-01T00:00Z"}, "to: must be after from"),
        "recipient.json": ({**REQ, "recipient": "age1xyz"}, "recipient: not an age recipient"),
        "missing.json": ({k: v for k, v in REQ.items() if k != "reason"}, "reason: missing"),
    }
    # Named things that do not exist are not found (exit 3), and store nothing either.
    missing = {
        "camera.json": ({**REQ, "cameras": ["back"]}, "cameras: no camera named 'back'"),
        "attach.json": ({**REQ, "attachments": ["nope.pdf"]}, "attachments: .*no such file"),
    }
    before = vault.audit.size()
    for name, (doc, message) in cases.items():
        path = tmp_path / name
        path.write_text(json.dumps(doc))
        with pytest.raises(UsageError, match=message.replace("(", r"\(")):
            vault.requests.import_file(path)
    for name, (doc, message) in missing.items():
        path = tmp_path / name
        path.write_text(json.dumps(doc))
        with pytest.raises(NotFound, match=message):
            vault.requests.import_file(path)
    broken = tmp_path / "broken.toml"
    broken.write_text("requester = ")
    with pytest.raises(UsageError, match="not valid toml"):
        vault.requests.import_file(broken)
    assert vault.requests.all() == []
    assert vault.audit.size() == before
    assert [p for p in vault.store.ids() if p.startswith("att_")] == []


def test_import_toml_with_an_attachment_sealed(vault: Vault, camera: Path, tmp_path: Path) -> None:
    (tmp_path / "warrant.pdf").write_bytes(b"%PDF-1.4 warrant text")
    path = tmp_path / "req.toml"
    path.write_text(
        'requester = "DC Smith"\norganisation = "Met"\nkind = "police"\nbasis = "warrant"\n'
        'reason = "burglary"\ncameras = ["front"]\nfrom = 2026-11-27T22:00:00Z\n'
        'to = 2026-11-28T02:00:00Z\nattachments = ["warrant.pdf"]\n'
    )
    rid = vault.requests.import_file(path)
    info = vault.requests.get(rid)
    assert [a["name"] for a in info.attachments] == ["warrant.pdf"]
    (att_id,) = [p for p in vault.store.ids() if p.startswith("att_")]
    with vault.store.open(att_id) as f:
        assert b"warrant text" not in f.read()


def test_no_other_route_to_plaintext() -> None:
    """Only the release module may call the age functions that open a clip."""
    opening = {"decrypt", "decrypt_payload", "unwrap_file_key", "rewrap", "decrypt_bytes"}
    allowed = {
        Path("vault/service/guard.py"),  # the one release path
        Path(
            "vault/keys.py"
        ),  # the owner's own key files, and headers readdressed to the vault's own recipients
    }
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in sorted((root / "vault").rglob("*.py")) + sorted((root / "tui").rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts[:2] == ("vault", "crypto") or rel == Path("vault/age.py"):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            name = None
            if isinstance(node, ast.Attribute):
                name = node.attr
            elif isinstance(node, ast.ImportFrom) and node.module in (
                "vault.age",
                "vault.crypto.age",
            ):
                for alias in node.names:
                    if alias.name in opening and rel not in allowed:
                        offenders.append(f"{rel}: imports {alias.name}")
            if name in opening and rel not in allowed:
                offenders.append(f"{rel}:{node.lineno}: {name}")
    assert offenders == []


def test_the_daemon_keeps_ingesting_while_an_export_runs(tmp_path: Path) -> None:
    vault_dir, drop = tmp_path / "vault", tmp_path / "drop"
    drop.mkdir()
    Vault.init(vault_dir, "pw", log_n=10).close()
    run_cli(vault_dir, "camera", "add", "front", str(drop), passphrase="pw")
    for i in range(6):
        (drop / f"big{i}.mp4").write_bytes(os.urandom(4 << 20))
    run_cli(vault_dir, "daemon", "--once", passphrase="pw")
    rid = run_cli(
        vault_dir,
        "request",
        "add",
        "--requester",
        "me",
        "--org",
        "self",
        "--kind",
        "owner",
        "--basis",
        "owner",
        "--reason",
        "backup",
        "--camera",
        "front",
        "--from",
        "2000-01-01",
        "--to",
        "2100-01-01",
        passphrase="pw",
    ).stdout.strip()
    run_cli(vault_dir, "approve", rid, "--reason", "mine", passphrase="pw")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "vault", "daemon"],
        env=cli_env(vault_dir, "pw"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not (vault_dir / "daemon.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        export = subprocess.Popen(
            [sys.executable, "-m", "vault", "export", rid, "--out", str(tmp_path / "out")],
            env=cli_env(vault_dir, "pw"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        sealed_during = 0
        i = 0
        while export.poll() is None and i < 50:
            (drop / f"during{i}.mp4").write_bytes(os.urandom(20_000))
            i += 1
            time.sleep(0.05)
        assert export.wait(timeout=120) == 0, export.stderr.read()  # type: ignore[union-attr]
        end = time.monotonic() + 20
        while any(drop.iterdir()) and time.monotonic() < end:
            time.sleep(0.05)
        sealed_during = i
        assert sealed_during > 0
        assert list(drop.iterdir()) == []
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
    run_cli(vault_dir, "receipt", "verify", str(tmp_path / "out"), passphrase="pw")
    clips = json.loads(run_cli(vault_dir, "clips", "list", "--json", passphrase="pw").stdout)
    assert len(clips) == 6 + sealed_during
