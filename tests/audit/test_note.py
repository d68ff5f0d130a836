"""C2SP signed notes and checkpoints: published vectors, round trips, strictness."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vault.audit.merkle import EMPTY_ROOT
from vault.audit.note import (
    Checkpoint,
    NoteError,
    NoteSigner,
    key_id,
    open_checkpoint,
    open_note,
    parse_checkpoint,
    parse_verifier_key,
    sign_note,
)
from vault.errors import IntegrityError

# golang.org/x/mod/sumdb/note note_test.go: a private key, its verifier key,
# a text and the exact note Go's Sign produces for it (Ed25519 is deterministic).
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKv"
    "qfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01o"
    "OTGwnWLox33WWd1RvMc+QQ=\n"
)
# The Go checksum database's verifier key (cmd/go), a key hash in the wild.
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"


def peter() -> NoteSigner:
    raw = base64.b64decode(PETER_SKEY.split("+", 4)[4])
    assert raw[0] == 0x01
    return NoteSigner("PeterNeumann", Ed25519PrivateKey.from_private_bytes(raw[1:]))


def test_key_hash_and_verifier_key_match_the_published_example() -> None:
    signer = peter()
    assert signer.key_id.hex() == "c74f20a3"
    assert signer.verifier_key() == PETER_VKEY
    assert parse_verifier_key(PETER_VKEY).key_id == signer.key_id
    sumdb = parse_verifier_key(SUMDB_VKEY)
    assert sumdb.key_id == key_id("sum.golang.org", sumdb.public_key)
    assert sumdb.encode() == SUMDB_VKEY


def test_signing_is_byte_identical_to_go() -> None:
    assert sign_note(TEXT.encode(), [peter()]) == TEXT + "\n" + PETER_SIG


def test_open_verifies_known_keys_and_ignores_unknown_ones() -> None:
    note = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(note, [PETER_VKEY]) == (TEXT, ["PeterNeumann"])
    assert open_note(note, [PETER_VKEY, ENOCH_VKEY]) == (TEXT, ["PeterNeumann", "EnochRoot"])
    assert open_note(note.encode(), [ENOCH_VKEY]) == (TEXT, ["EnochRoot"])
    with pytest.raises(NoteError, match="no signature from a trusted key"):
        open_note(note, [])
    # Duplicated signature lines count once.
    assert open_note(TEXT + "\n" + PETER_SIG * 3, [PETER_VKEY])[1] == ["PeterNeumann"]


def test_a_bad_signature_from_a_known_key_rejects_the_note() -> None:
    bad = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(NoteError, match="does not verify"):
        open_note(TEXT + "\n" + bad, [PETER_VKEY])
    with pytest.raises(NoteError, match="does not verify"):
        open_note(TEXT + "\n" + ENOCH_SIG + bad, [PETER_VKEY, ENOCH_VKEY])
    # Same name, other key ID (or the reverse): an unknown key, ignored.
    other_id = PETER_SIG.replace("x08g", "xxxx")
    with pytest.raises(NoteError, match="no signature from a trusted key"):
        open_note(TEXT + "\n" + other_id, [PETER_VKEY])
    renamed = PETER_SIG.replace("PeterNeumann", "CarmenSandiego")
    with pytest.raises(NoteError, match="no signature from a trusted key"):
        open_note(TEXT + "\n" + renamed, [PETER_VKEY])
    # Edited text, intact signature.
    with pytest.raises(NoteError, match="does not verify"):
        open_note(TEXT.replace("answer", "ANSWER") + "\n" + PETER_SIG, [PETER_VKEY])


@pytest.mark.parametrize(
    "note",
    [
        TEXT,  # no signatures
        TEXT + "\n",  # blank line, no signatures
        TEXT + "\n" + PETER_SIG[:-1],  # missing final newline
        "\x01" + TEXT + "\n" + PETER_SIG,  # control character
        TEXT.replace("\n", "\r\n") + "\n" + PETER_SIG,  # CR
        TEXT
        + "\n"
        + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfq"
        "dngotpRZb6KE6RyyBwJnAM=\n",  # space in the key name
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG.replace("—", "-"),  # hyphen, not em dash
        TEXT + "\n" + PETER_SIG.replace("— ", "—  "),  # two spaces
        TEXT + "\n" + PETER_SIG.replace("=\n", "\n"),  # unpadded base64
        TEXT
        + "\n"
        + "— a+b x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdn"
        "gotpRZb6KE6RyyBwJnAM=\n",  # '+' in the key name
        TEXT + "\n" + "— PeterNeumann AAAA\n",  # shorter than a key ID and a signature
        TEXT + "\n" + PETER_SIG * 101,  # too many signatures
        TEXT + "\n" + PETER_SIG + "\n",  # trailing blank line
    ],
)
def test_malformed_notes_are_refused(note: str) -> None:
    with pytest.raises(IntegrityError):
        open_note(note, [PETER_VKEY])


def test_invalid_utf8_is_refused() -> None:
    with pytest.raises(NoteError):
        open_note(b"\xff" + TEXT.encode() + b"\n" + PETER_SIG.encode(), [PETER_VKEY])


def test_verifier_key_manglings_are_refused() -> None:
    parse_verifier_key(PETER_VKEY)
    for i in range(len(PETER_VKEY)):
        for j in (i + 1, len(PETER_VKEY)):
            if (i, j) != (0, len(PETER_VKEY)):
                with pytest.raises(NoteError):
                    parse_verifier_key(PETER_VKEY[i:j])
    for i in range(len(PETER_VKEY)):
        mangled = PETER_VKEY[:i] + chr(ord(PETER_VKEY[i]) + 1) + PETER_VKEY[i + 1 :]
        with pytest.raises(NoteError):
            parse_verifier_key(mangled)
    # Wrong key length and unknown algorithm, each with its key hash adjusted (Go's cases).
    with pytest.raises(NoteError):
        parse_verifier_key(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
    with pytest.raises(NoteError):
        parse_verifier_key("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
    with pytest.raises(NoteError):
        parse_verifier_key(PETER_VKEY.replace("c74f20a3", "C74F20A3"))


@pytest.mark.parametrize("name", ["", "a b", "a+b", "tab\there", "nbsp\u00a0", "x\n"])
def test_bad_key_names_are_refused(name: str) -> None:
    with pytest.raises(NoteError):
        NoteSigner(name, Ed25519PrivateKey.generate())


def test_checkpoint_round_trip() -> None:
    signer = NoteSigner("example.com/log", Ed25519PrivateKey.generate())
    cp = Checkpoint("example.com/log", 20852163, bytes(range(32)), ("ext one",))
    assert cp.body() == (
        b"example.com/log\n20852163\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\next one\n"
    )
    note = sign_note(cp.body(), [signer])
    assert note.startswith(cp.body().decode() + "\n— example.com/log ")
    assert open_checkpoint(note, [signer.verifier_key()]) == (cp, ["example.com/log"])
    assert parse_checkpoint(cp.body()) == cp
    assert parse_checkpoint("o\n0\n" + base64.b64encode(EMPTY_ROOT).decode() + "\n").size == 0


ROOT64 = base64.b64encode(bytes(32)).decode()


@pytest.mark.parametrize(
    "text",
    [
        f"o\n1\n{ROOT64}",  # no final newline
        "o\n1\n",  # no root
        f"\n1\n{ROOT64}\n",  # empty origin
        f"o\n01\n{ROOT64}\n",  # leading zero
        f"o\n-1\n{ROOT64}\n",
        f"o\n+1\n{ROOT64}\n",
        f"o\n1 \n{ROOT64}\n",
        f"o\n١\n{ROOT64}\n",  # non-ASCII digit
        f"o\n99999999999999999999\n{ROOT64}\n",
        "o\n1\nAAAA\n",  # short root
        f"o\n1\n{ROOT64[:-1]}\n",  # unpadded
        f"o\n1\n{ROOT64[:-2]}B=\n",  # non-canonical trailing bits
        f"o\n1\n{ROOT64}\n\n",  # empty extension line
        f"o\n1\n{ROOT64}\next\n\n",
        f"o\r\n1\n{ROOT64}\n",
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(NoteError):
        parse_checkpoint(text)


def test_checkpoint_fields_are_validated() -> None:
    with pytest.raises(NoteError):
        Checkpoint("", 1, bytes(32))
    with pytest.raises(NoteError):
        Checkpoint("o", -1, bytes(32))
    with pytest.raises(NoteError):
        Checkpoint("o", 1, bytes(31))
    with pytest.raises(NoteError):
        Checkpoint("o", 1, bytes(32), ("",))


def test_signed_note_spec_example() -> None:
    """The example key and note of c2sp.org/signed-note (v1.1.0, "Verifier keys")."""
    vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
    note = (
        "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6Tf"
        "Xppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
    )
    assert parse_verifier_key(vkey).encode() == vkey
    assert open_note(note, [vkey]) == ("This is an example message.\n", ["example.com/foo"])


def test_a_vaults_key_names_are_its_origin_and_a_role(tmp_path: Path) -> None:
    """docs/audit.md: the origin is a prefix of every signer's key name."""
    from tests.conftest import FAST_LOG_N
    from tests.tools import PASSPHRASE
    from vault.audit.note import check_key_name, note_signers
    from vault.keys import device_key_name, owner_key_name
    from vault.service import Vault

    vault = Vault.init(tmp_path / "vault", PASSPHRASE, log_n=FAST_LOG_N)
    try:
        origin = vault.config.origin
        latest = vault.audit.latest_checkpoint()
        assert latest is not None
        assert latest.note.startswith(origin + "\n")
        names = {name for name, _ in note_signers(latest.note)}
    finally:
        vault.close()
    assert owner_key_name(origin) == f"{origin}/owner"
    assert device_key_name(origin) == f"{origin}/device"
    assert names <= {f"{origin}/owner", f"{origin}/device"} and f"{origin}/owner" in names
    for name in names:
        check_key_name(name)  # C2SP: no spaces, no plus sign
        assert name.rsplit("/", 1)[0] == origin
