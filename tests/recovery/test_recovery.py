"""Recovery keys: K of N SLIP-39 shares, rebuilt by an independent SLIP-39
implementation, open clips with the stock age; K-1 do not; headers change,
payloads never; revoke takes the key off every header."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bip39_slip39.slip39 import master_secret_from_mnemonics
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from tests.conftest import FAST_LOG_N
from tests.retention.conftest import PATTERN, headers, ingest
from tests.tools import PASSPHRASE, cli_env, require_tool, run_cli
from vault import age
from vault.errors import PassphraseError, VaultBusy
from vault.keyscan import holds_any_key, key_lines
from vault.service import Vault

START = datetime(2026, 11, 1, tzinfo=UTC)

# --- Bech32 (BIP 173), written from the spec for this test, so the key string is
# rebuilt without ringfence's own encoder.
_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _polymod(values: list[int]) -> int:
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def bech32(hrp: str, data: bytes) -> str:
    acc, bits, five = 0, 0, []
    for byte in data:
        acc = (acc << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            five.append((acc >> bits) & 31)
    if bits:
        five.append((acc << (5 - bits)) & 31)
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    poly = _polymod(expanded + five + [0] * 6) ^ 1
    checksum = [(poly >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[d] for d in five + checksum)


def age_keys(secret: bytes) -> tuple[str, str]:
    """(AGE-SECRET-KEY-1…, age1…) for a 32-byte X25519 secret."""
    public = X25519PrivateKey.from_private_bytes(secret).public_key().public_bytes_raw()
    return bech32("age-secret-key-", secret).upper(), bech32("age", public)


@pytest.fixture
def filled(tmp_path: Path) -> Iterator[Path]:
    """A vault folder with a camera and three clips (no process holds it open)."""
    root = tmp_path / "vault"
    v = Vault.init(root, PASSPHRASE, log_n=FAST_LOG_N)
    drop = tmp_path / "drop" / "front"
    drop.mkdir(parents=True)
    v.cameras.add("front", drop, pattern=PATTERN)
    ingest(v, drop, [START + timedelta(minutes=i) for i in range(3)])
    v.close()
    return root


def _store_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in (root / "store").rglob("clp_*")
        if p.is_file()
    }


def _open_with_stock_age(root: Path, identity_text: str, tmp_path: Path) -> list[str]:
    """Export every clip as an age file and open it with the stock age and
    *identity_text*; the SHA-256 of each plaintext."""
    exe = require_tool("age")
    ident = tmp_path / "recovered-identity.txt"
    ident.write_text(identity_text + "\n")
    os.chmod(ident, 0o600)
    clips = json.loads(run_cli(root, "clips", "list", "--json", passphrase=None).stdout)
    out = []
    for clip in clips:
        target = tmp_path / f"{clip['id']}.age"
        run_cli(root, "clips", "export-age", clip["id"], "-o", str(target), passphrase=None)
        plain = subprocess.run(
            [exe, "-d", "-i", str(ident), str(target)], capture_output=True, check=True
        ).stdout
        assert hashlib.sha256(plain).hexdigest() == clip["sha256"]
        out.append(clip["id"])
    return out


def test_k_of_n_shares_rebuild_the_key_with_another_slip39_and_the_stock_age_opens_clips(
    filled: Path, tmp_path: Path
) -> None:
    before = _store_bytes(filled)
    made = json.loads(
        run_cli(
            filled, "key", "recovery", "create", "--shares", "5", "--threshold", "3", "--json"
        ).stdout
    )
    assert made["threshold"] == 3 and len(made["shares"]) == 5 and made["paper_key"] is None
    assert made["headers"] == 3
    assert _store_bytes(filled) == before, "a payload byte changed"
    shares = made["shares"]
    for pick in ([0, 2, 4], [1, 2, 3], [4, 0, 1]):
        secret = master_secret_from_mnemonics([shares[i] for i in pick])
        assert len(secret) == 32
        identity, recipient = age_keys(secret)
        assert recipient == made["recipient"]
    assert len(_open_with_stock_age(filled, identity, tmp_path)) == 3
    with pytest.raises(Exception):  # noqa: B017 - the other library's own error type
        master_secret_from_mnemonics(shares[:2])
    # Nothing of the key is stored in the vault.
    words = shares[0].split()
    for path in filled.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert identity.encode() not in data and " ".join(words[4:10]).encode() not in data
    # clips verify and audit verify accept the readdressed headers.
    run_cli(filled, "clips", "verify", passphrase=None)
    run_cli(filled, "audit", "verify", passphrase=None)


def test_a_single_share_is_a_paper_key_for_the_stock_age(filled: Path, tmp_path: Path) -> None:
    made = json.loads(run_cli(filled, "key", "recovery", "create", "--json").stdout)
    assert len(made["shares"]) == 1 and made["threshold"] == 1
    secret = master_secret_from_mnemonics(made["shares"])
    assert age_keys(secret)[0] == made["paper_key"]
    assert len(_open_with_stock_age(filled, made["paper_key"], tmp_path)) == 3


def test_key_recover_sets_a_new_passphrase_and_k_minus_1_shares_do_not(
    filled: Path, tmp_path: Path
) -> None:
    made = json.loads(
        run_cli(
            filled, "key", "recovery", "create", "--shares", "3", "--threshold", "2", "--json"
        ).stdout
    )
    few = tmp_path / "one-share.txt"
    few.write_text(made["shares"][0] + "\n")
    env = cli_env(filled, passphrase=None, RINGFENCE_NEW_PASSPHRASE="a brand new one")
    proc = run_cli(filled, "key", "recover", "--shares-file", str(few), env=env, check=False)
    assert proc.returncode == PassphraseError.exit_code
    assert "do not rebuild" in proc.stderr and made["shares"][0].split()[0] not in proc.stderr
    enough = tmp_path / "two-shares.txt"
    enough.write_text(made["shares"][2] + "\n\n" + made["shares"][0] + "\n")
    run_cli(filled, "key", "recover", "--shares-file", str(enough), env=env)
    v = Vault.open(filled)
    try:
        with pytest.raises(PassphraseError):
            v.unlock(PASSPHRASE)
        v.unlock("a brand new one")
        assert v.audit.verify(v.verifier_keys()).ok
        types = [e["type"] for _i, e in v.audit.entries()]
        assert "key.recovered" in types and "key.recovery_created" in types
    finally:
        v.close()
    # Shares of another vault's recovery key are refused.
    other = Vault.init(tmp_path / "other", PASSPHRASE, log_n=FAST_LOG_N)
    try:
        alien = other.recovery.create(2, 2)
    finally:
        other.close()
    (tmp_path / "alien.txt").write_text("\n".join(alien.shares))
    proc = run_cli(
        filled, "key", "recover", "--shares-file", str(tmp_path / "alien.txt"), env=env, check=False
    )
    assert proc.returncode == PassphraseError.exit_code and "not this vault" in proc.stderr


def test_revoke_takes_the_recovery_key_off_every_header(filled: Path) -> None:
    made = json.loads(run_cli(filled, "key", "recovery", "create", "--json").stdout)
    recovery = age.parse_identity(made["paper_key"])
    before = _store_bytes(filled)
    v = Vault.open(filled)
    try:
        v.unlock(PASSPHRASE)
        old = headers(v)
        for cid, header in old.items():
            with v.store.open(cid) as f:
                age.decrypt_bytes(header + f.read(), [recovery])  # opens, before
        result = v.recovery.revoke()
        assert result.headers == 3
        assert v.config.recipients == [str(v.owner_keys().identity.recipient)]
        for cid, header in headers(v).items():
            with v.store.open(cid) as f:
                payload = f.read()
            with pytest.raises(age.NoMatchingIdentity):
                age.decrypt_bytes(header + payload, [recovery])
            age.decrypt_bytes(header + payload, [v.owner_keys().identity])
        assert not v.layout.recovery_keys.exists()
        assert v.clips.verify().problems == []
    finally:
        v.close()
    assert _store_bytes(filled) == before
    # The old headers (with the recovery stanza) are gone from the catalog
    # files, not only replaced: none of their wrapped keys is left.
    wrapped = set().union(*(key_lines(h) for h in old.values()))
    assert len(wrapped) == 6
    for path in filled.glob("catalog.db*"):
        assert not holds_any_key(path, wrapped), path.name


def test_the_daemon_must_be_stopped_and_bad_splits_are_refused(filled: Path) -> None:
    from vault.lock import InstanceLock

    with InstanceLock(filled / "daemon.lock"):
        proc = run_cli(filled, "key", "recovery", "create", check=False)
    assert proc.returncode == VaultBusy.exit_code and "stop it first" in proc.stderr
    for args in (
        ["--shares", "3", "--threshold", "4"],
        ["--shares", "17"],
        ["--shares", "3", "--threshold", "1"],
    ):
        proc = run_cli(filled, "key", "recovery", "create", *args, check=False)
        assert proc.returncode == 2, (args, proc.stderr)
    v = Vault.open(filled)
    try:
        assert len(v.config.recipients) == 1
    finally:
        v.close()


def test_a_backup_carries_the_recovery_key_and_a_restored_vault_recovers_with_it(
    filled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vault.service.backup_check import restore, verify_backup

    made = json.loads(run_cli(filled, "key", "recovery", "create", "--json").stdout)
    dest = tmp_path / "usb"
    run_cli(filled, "backup", str(dest), passphrase=None)
    check = verify_backup(str(dest))
    assert check.ok, check.problems
    assert (dest / "keys" / "recovery.age").is_file()
    home = os.environ["XDG_CONFIG_HOME"]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "new-machine"))
    restore(str(dest), tmp_path / "restored", PASSPHRASE)
    shares = tmp_path / "share.txt"
    shares.write_text(made["shares"][0] + "\n")
    env = cli_env(tmp_path / "restored", passphrase=None, RINGFENCE_NEW_PASSPHRASE="after the fire")
    run_cli(tmp_path / "restored", "key", "recover", "--shares-file", str(shares), env=env)
    v = Vault.open(tmp_path / "restored")
    try:
        v.unlock("after the fire")
    finally:
        v.close()
    # Revoked since: the next backup run removes it from the destination.
    monkeypatch.setenv("XDG_CONFIG_HOME", home)
    run_cli(filled, "key", "recovery", "revoke")
    run_cli(filled, "backup", str(dest), passphrase=None)
    assert not (dest / "keys" / "recovery.age").exists()
    assert verify_backup(str(dest)).ok
