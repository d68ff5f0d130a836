"""Cross-tests against independent implementations: the age CLI and pyrage."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from vault import age
from vault.errors import NoMatchingIdentity

RequireTool = Callable[[str], str]
RequireModule = Callable[[str], ModuleType]
SIZES = [0, 1, 65536, 65537, 300_000]


@pytest.mark.parametrize("armor", [False, True])
@pytest.mark.parametrize("size", SIZES)
def test_age_cli_decrypts_ours(
    size: int, armor: bool, tmp_path: Path, require_tool: RequireTool
) -> None:
    binary = require_tool("age")
    ident, second = age.generate_identity(), age.generate_identity()
    data = os.urandom(size)
    sealed = tmp_path / "f.age"
    sealed.write_bytes(age.encrypt_bytes(data, [second.recipient, ident.recipient], armor=armor))
    keys = tmp_path / "keys.txt"
    keys.write_text(f"# test key\n{ident}\n")
    out = subprocess.run([binary, "-d", "-i", str(keys), str(sealed)], capture_output=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == data


@pytest.mark.parametrize("armor", [False, True])
@pytest.mark.parametrize("size", SIZES)
def test_we_decrypt_age_cli(
    size: int, armor: bool, tmp_path: Path, require_tool: RequireTool
) -> None:
    binary = require_tool("age")
    keygen = require_tool("age-keygen")
    keys = tmp_path / "keys.txt"
    subprocess.run([keygen, "-o", str(keys)], check=True, capture_output=True)
    identities = age.parse_identities_file(keys.read_text())
    data = os.urandom(size)
    plain = tmp_path / "plain"
    plain.write_bytes(data)
    args = [binary, "-r", str(identities[0].recipient), "-o", str(tmp_path / "f.age")]
    subprocess.run([*args, *(["-a"] if armor else []), str(plain)], check=True)
    sealed = (tmp_path / "f.age").read_bytes()
    assert sealed.startswith(b"-----BEGIN" if armor else b"age-encryption.org/v1\n")
    assert age.decrypt_bytes(sealed, identities) == data
    with pytest.raises(NoMatchingIdentity):
        age.decrypt_bytes(sealed, [age.generate_identity()])


def test_keygen_agrees_on_public_key(require_tool: RequireTool) -> None:
    keygen = require_tool("age-keygen")
    ident = age.generate_identity()
    out = subprocess.run([keygen, "-y"], input=f"{ident}\n", capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(ident.recipient)


def _age_on_tty(binary: str, args: list[str], passphrase: str, timeout: float = 60) -> bytes:
    """Run age with a pseudo-terminal as its controlling TTY and answer its prompts.

    age reads passphrases from the terminal, never from stdin, so a pty is the
    only honest way to drive ``age -p`` and passphrase ``age -d``.
    """
    pid, fd = pty.fork()
    if pid == 0:  # child: the pty is our controlling terminal and stdio
        try:
            os.execv(binary, [binary, *args])
        finally:
            os._exit(127)
    seen = b""
    answered = 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 1024)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            prompts = seen.lower().count(b"passphrase")
            if prompts > answered and seen.rstrip().endswith(b":"):
                os.write(fd, passphrase.encode() + b"\r")
                answered = prompts
        else:
            os.kill(pid, 9)
            raise AssertionError(f"age timed out; terminal said {seen!r}")
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    return seen


@pytest.mark.parametrize("armor", [False, True])
def test_age_cli_passphrase_both_ways(
    armor: bool, tmp_path: Path, require_tool: RequireTool
) -> None:
    binary = require_tool("age")
    data = os.urandom(70_000)
    plain = tmp_path / "plain"
    plain.write_bytes(data)
    # age -p (log N = 18) -> us
    theirs = tmp_path / "theirs.age"
    _age_on_tty(
        binary, ["-p", *(["-a"] if armor else []), "-o", str(theirs), str(plain)], "correct horse"
    )
    assert age.decrypt_bytes(theirs.read_bytes(), passphrases=["correct horse"]) == data
    with pytest.raises(NoMatchingIdentity):
        age.decrypt_bytes(theirs.read_bytes(), passphrases=["wrong horse"])
    # us -> age -d
    ours = tmp_path / "ours.age"
    ours.write_bytes(
        age.encrypt_bytes(data, [age.ScryptRecipient("battery staple", 12)], armor=armor)
    )
    out = tmp_path / "out"
    _age_on_tty(binary, ["-d", "-o", str(out), str(ours)], "battery staple")
    assert out.read_bytes() == data


def test_pyrage_x25519_both_ways(require_module: RequireModule) -> None:
    pyrage = require_module("pyrage")
    theirs = pyrage.x25519.Identity.generate()
    ours = age.parse_identity(str(theirs))
    assert str(ours.recipient) == str(theirs.to_public())
    for size in (0, 1, 65536, 200_000):
        data = os.urandom(size)
        for armored in (False, True):
            sealed = pyrage.encrypt(data, [theirs.to_public()], armored)
            assert age.decrypt_bytes(sealed, [ours]) == data
            sealed = age.encrypt_bytes(data, [ours.recipient], armor=armored)
            assert pyrage.decrypt(sealed, [theirs]) == data
    mine = age.generate_identity()
    rec = pyrage.x25519.Recipient.from_str(str(mine.recipient))
    assert age.decrypt_bytes(pyrage.encrypt(b"hi", [rec]), [str(mine)]) == b"hi"


def test_pyrage_passphrase_both_ways(require_module: RequireModule) -> None:
    pyrage = require_module("pyrage")
    sealed = age.encrypt_bytes(b"to rage", [age.ScryptRecipient("pw", 12)])
    assert pyrage.passphrase.decrypt(sealed, "pw") == b"to rage"
    # rage calibrates its work factor to about a second of its own scrypt, so
    # a fast machine may go past our default ceiling of 22: allow a little more.
    sealed = pyrage.passphrase.encrypt(b"from rage", "pw")
    assert age.decrypt_bytes(sealed, [age.ScryptIdentity("pw", 24)]) == b"from rage"
