"""`init`, `key show`, `key passwd` through the real CLI, and the key files with stock age."""

from __future__ import annotations

import json
import os
import pty
import stat
import subprocess
from pathlib import Path

from tests.tools import PASSPHRASE, cli_env, require_tool, run_cli


def _init(vault: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli(vault, "init", "--kdf-log-n", "10", *extra)


def test_init_layout_and_modes(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    out = _init(vault, "--json")
    info = json.loads(out.stdout)
    assert info["recipient"].startswith("age1")
    assert stat.S_IMODE(vault.stat().st_mode) == 0o700
    assert stat.S_IMODE((vault / "keys").stat().st_mode) == 0o700
    for name in ("config.toml", "keys/owner.age", "keys/signing.age", "keys/device.ed25519"):
        assert stat.S_IMODE((vault / name).stat().st_mode) == 0o600, name
    config = (vault / "config.toml").read_text()
    assert info["recipient"] in config
    assert PASSPHRASE not in config
    assert "AGE-SECRET-KEY" not in config
    shown = json.loads(run_cli(vault, "key", "show", "--json", passphrase=None).stdout)
    assert shown["recipient"] == info["recipient"]
    assert shown["signing_public_key"] == info["signing_public_key"]


def test_init_refuses_an_existing_vault_and_an_empty_passphrase(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    _init(vault)
    again = run_cli(vault, "init", check=False)
    assert again.returncode == 11 and "already a ringfence vault" in again.stderr
    empty = run_cli(tmp_path / "v2", "init", passphrase="", check=False)
    assert empty.returncode == 4 and "empty" in empty.stderr
    none = run_cli(tmp_path / "v3", "init", passphrase=None, check=False)
    assert none.returncode == 4 and "no" in none.stderr
    assert not (tmp_path / "v3" / "config.toml").exists()


def test_recovery_recipient_is_stored_and_checked(tmp_path: Path) -> None:
    from vault import age

    rec = age.generate_identity()
    vault = tmp_path / "vault"
    _init(vault, "--recovery-recipient", str(rec.recipient))
    shown = json.loads(run_cli(vault, "key", "show", "--json").stdout)
    assert shown["recovery_recipients"] == [str(rec.recipient)]
    bad = run_cli(tmp_path / "v2", "init", "--recovery-recipient", "age1nope", check=False)
    assert bad.returncode == 5


def test_wrong_passphrase_has_its_own_exit_code(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    _init(vault)
    out = run_cli(
        vault,
        "key",
        "passwd",
        passphrase="wrong",
        check=False,
        env=cli_env(vault, "wrong", RINGFENCE_NEW_PASSPHRASE="new one"),
    )
    assert out.returncode == 4
    assert "wrong passphrase" in out.stderr
    assert "wrong" not in out.stderr.replace("wrong passphrase", "")


def test_passwd_reseals_only_the_key_files(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    _init(vault)
    before_config = (vault / "config.toml").read_bytes()
    before_device = (vault / "keys" / "device.ed25519").read_bytes()
    env = cli_env(vault, PASSPHRASE, RINGFENCE_NEW_PASSPHRASE="a brand new passphrase")
    run_cli(vault, "key", "passwd", env=env)
    assert (vault / "config.toml").read_bytes() == before_config
    assert (vault / "keys" / "device.ed25519").read_bytes() == before_device
    from vault.errors import PassphraseError
    from vault.service import Vault

    v = Vault.open(vault)
    v.unlock("a brand new passphrase")
    try:
        v.unlock(PASSPHRASE)
        raise AssertionError("old passphrase still opens the keys")
    except PassphraseError:
        pass
    assert v.audit.verify(v.verifier_keys()).ok


def _age_decrypt_with_pty(age_bin: str, path: Path, passphrase: str) -> bytes:
    """Run `age -d FILE`, typing the passphrase at its terminal prompt."""
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execv(age_bin, [age_bin, "-d", str(path)])
    out = b""
    sent = False
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if not sent and b"passphrase" in out.lower():
            os.write(fd, passphrase.encode() + b"\n")
            sent = True
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, out
    return out


def test_key_files_open_with_stock_age(tmp_path: Path) -> None:
    age_bin = require_tool("age")
    vault = tmp_path / "vault"
    info = json.loads(_init(vault, "--json").stdout)
    out = _age_decrypt_with_pty(age_bin, vault / "keys" / "owner.age", PASSPHRASE)
    secret = next(line for line in out.decode().splitlines() if line.startswith("AGE-SECRET-KEY-1"))
    # The recovered identity opens a clip sealed by vault.age to the owner's recipient.
    from vault import age

    data = os.urandom(100_000)
    sealed = tmp_path / "clip.age"
    sealed.write_bytes(age.encrypt_bytes(data, [info["recipient"]]))
    ident = tmp_path / "id.txt"
    ident.write_text(secret + "\n")
    got = subprocess.run(
        [age_bin, "-d", "-i", str(ident), str(sealed)], capture_output=True, check=True
    )
    assert got.stdout == data
    pem = _age_decrypt_with_pty(age_bin, vault / "keys" / "signing.age", PASSPHRASE)
    assert b"BEGIN PRIVATE KEY" in pem
