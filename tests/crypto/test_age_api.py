"""The high-level API: passphrases, recipient rules, armor detection, errors."""

from __future__ import annotations

import io
import os
from collections.abc import Callable

import pytest

from vault import age
from vault.crypto.format import Stanza, encode_header
from vault.crypto.primitives import b64encode_raw
from vault.crypto.scrypt import scrypt_memory
from vault.errors import (
    AgeError,
    ArmorError,
    HeaderError,
    KeyFormatError,
    NoMatchingIdentity,
    PayloadError,
)

Fast = Callable[[str], age.ScryptRecipient]


def test_passphrase_round_trip(fast_scrypt: Fast) -> None:
    for armor in (False, True):
        sealed = age.encrypt_bytes(b"secret", [fast_scrypt("hunter2")], armor=armor)
        assert b"-> scrypt " in (sealed if not armor else b"-> scrypt ")
        assert age.decrypt_bytes(sealed, passphrases=["hunter2"]) == b"secret"
        assert age.decrypt_bytes(sealed, passphrases=[b"hunter2"]) == b"secret"
        assert age.decrypt_bytes(sealed, [age.ScryptIdentity("hunter2")]) == b"secret"


def test_scrypt_stanza_shape(fast_scrypt: Fast) -> None:
    sealed = age.encrypt_bytes(b"x", [fast_scrypt("pw")])
    line = sealed.split(b"\n")[1].split(b" ")
    assert line[:2] == [b"->", b"scrypt"] and len(line) == 4
    assert len(line[2]) == 22 and line[3] == b"10"


def test_wrong_passphrase_and_identity(fast_scrypt: Fast, identity: age.X25519Identity) -> None:
    sealed = age.encrypt_bytes(b"x", [fast_scrypt("right")])
    with pytest.raises(NoMatchingIdentity):
        age.decrypt_bytes(sealed, passphrases=["wrong"])
    with pytest.raises(NoMatchingIdentity):
        age.decrypt_bytes(sealed, [identity])  # X25519 identities ignore scrypt stanzas
    sealed = age.encrypt_bytes(b"x", [identity.recipient])
    with pytest.raises(NoMatchingIdentity):
        age.decrypt_bytes(sealed, [age.generate_identity()], passphrases=["x"])
    with pytest.raises(NoMatchingIdentity, match="no identities"):
        age.decrypt_bytes(sealed)


def test_scrypt_cannot_be_mixed(fast_scrypt: Fast, identity: age.X25519Identity) -> None:
    with pytest.raises(AgeError, match="only recipient"):
        age.encrypt_bytes(b"x", [fast_scrypt("a"), identity.recipient])
    with pytest.raises(AgeError, match="only recipient"):
        age.encrypt_bytes(b"x", [fast_scrypt("a"), fast_scrypt("b")])
    with pytest.raises(AgeError, match="no recipients"):
        age.encrypt_bytes(b"x", [])


def _forge(stanzas: list[Stanza]) -> bytes:
    return encode_header(stanzas, bytes(32)) + os.urandom(40)


def _scrypt_stanza(log_n: str = "10", salt: bytes = bytes(16), body: int = 32) -> Stanza:
    return Stanza("scrypt", (b64encode_raw(salt).decode(), log_n), bytes(body))


def test_scrypt_stanza_with_another_stanza_is_header_error(identity: age.X25519Identity) -> None:
    x = identity.recipient.wrap(bytes(16))[0]
    for stanzas in ([_scrypt_stanza(), x], [x, _scrypt_stanza()], [_scrypt_stanza()] * 2):
        for kwargs in ({"passphrases": ["pw"]}, {"identities": [identity]}):
            with pytest.raises(HeaderError, match="only stanza"):
                age.decrypt_bytes(_forge(stanzas), **kwargs)  # type: ignore[arg-type]


def test_work_factor_limit_checked_before_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    import vault.crypto.scrypt as scrypt_mod

    derived: list[int] = []
    real = scrypt_mod._wrap_key

    def counting(passphrase: bytes, salt: bytes, log_n: int) -> bytes:
        derived.append(log_n)
        return real(passphrase, salt, log_n)

    monkeypatch.setattr(scrypt_mod, "_wrap_key", counting)
    with pytest.raises(HeaderError, match="limit of 22"):
        age.decrypt_bytes(_forge([_scrypt_stanza("23")]), passphrases=["pw"])
    with pytest.raises(HeaderError, match="limit of 22"):
        age.decrypt_bytes(_forge([_scrypt_stanza("9" * 5000)]), passphrases=["pw"])
    assert derived == []  # refused before any key was derived: 2**23 would take 8 GiB
    with pytest.raises(HeaderError, match="limit of 12"):
        age.decrypt_bytes(_forge([_scrypt_stanza("13")]), [age.ScryptIdentity("pw", 12)])
    assert scrypt_memory(18) == 256 * 1024 * 1024


@pytest.mark.parametrize(
    ("stanza", "rule"),
    [
        (_scrypt_stanza("010"), "leading zeros"),
        (_scrypt_stanza("0"), "leading zeros"),
        (_scrypt_stanza("+10"), "leading zeros"),
        (_scrypt_stanza("0x10"), "leading zeros"),
        (_scrypt_stanza("-1"), "leading zeros"),
        (_scrypt_stanza(salt=bytes(15)), "16 bytes"),
        (_scrypt_stanza(salt=bytes(17)), "16 bytes"),
        (_scrypt_stanza(body=33), "32 bytes"),
        (Stanza("scrypt", ("AAAAAAAAAAAAAAAAAAAAAA",), bytes(32)), "two arguments"),
        (Stanza("scrypt", ("AAAAAAAAAAAAAAAAAAAAAB", "10"), bytes(32)), "canonical"),
        (Stanza("scrypt", ("AAAAAAAAAAAAAAAAAAAAAA", "10", "x"), bytes(32)), "two arguments"),
    ],
)
def test_malformed_scrypt_stanzas(stanza: Stanza, rule: str) -> None:
    with pytest.raises(HeaderError, match=rule):
        age.decrypt_bytes(_forge([stanza]), passphrases=["pw"])


@pytest.mark.parametrize(
    ("args", "body", "rule"),
    [
        ((), 32, "exactly one argument"),
        (("AAAA", "x"), 32, "exactly one argument"),
        ((b64encode_raw(bytes(31)).decode(),), 32, "32 bytes"),
        ((b64encode_raw(bytes(32)).decode(),), 31, "body must be 32"),
        ((b64encode_raw(bytes(32)).decode(),), 33, "body must be 32"),
        ((b64encode_raw(bytes(32)).decode(),), 32, "low-order"),  # all-zero share
        ((b64encode_raw(b"\x01" + bytes(31)).decode(),), 32, "low-order"),
    ],
)
def test_malformed_x25519_stanzas(
    args: tuple[str, ...], body: int, rule: str, identity: age.X25519Identity
) -> None:
    with pytest.raises(HeaderError, match=rule):
        age.decrypt_bytes(_forge([Stanza("X25519", args, bytes(body))]), [identity])


def test_low_order_recipient_refused() -> None:
    with pytest.raises(AgeError, match="low-order"):
        age.encrypt_bytes(b"x", [age.X25519Recipient(bytes(32))])


def test_unknown_stanzas_are_ignored(identity: age.X25519Identity) -> None:
    payload = io.BytesIO()
    header = age.encrypt_split(io.BytesIO(b"hello"), payload, [identity.recipient])
    file_key = age.unwrap_file_key(header, identity)
    # Rebuild with a grease stanza first, MACed correctly with the same file key.
    from vault.crypto.age import _mac
    from vault.crypto.format import parse_header

    stanzas = [
        Stanza("example.com/grease", ("a", "b"), os.urandom(70)),
        *parse_header(header).stanzas,
    ]
    unmaced = encode_header(stanzas, bytes(32))
    mac = _mac(file_key, unmaced[: unmaced.rindex(b"---") + 3])
    assert (
        age.decrypt_bytes(encode_header(stanzas, mac) + payload.getvalue(), [identity]) == b"hello"
    )


def test_armor_detection_and_errors(identity: age.X25519Identity) -> None:
    armored = age.encrypt_bytes(b"hello", [identity.recipient], armor=True)
    assert armored.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----\n")
    assert armored.endswith(b"-----END AGE ENCRYPTED FILE-----\n")
    assert all(len(line) <= 64 for line in armored.split(b"\n"))
    assert age.decrypt_bytes(b"\n \t\r\n" + armored + b"\r\n  \n", [identity]) == b"hello"
    crlf = armored.replace(b"\n", b"\r\n")
    assert age.decrypt_bytes(crlf, [identity]) == b"hello"
    lines = armored.split(b"\n")
    bad = {
        "trailing garbage": armored + b"x",
        "header line": armored.replace(b"\n", b"\nKey: v\n", 1),
        "no END": b"\n".join(lines[:-2]) + b"\n",
        "space at line end": armored.replace(b"\n", b" \n", 2),
        "lowercase label": armored.replace(b"BEGIN AGE", b"BEGIN age"),
        "bad char": armored[:40] + b"!" + armored[41:],
        "only whitespace": b"  \n",
    }
    for name, data in bad.items():
        with pytest.raises(ArmorError):
            age.decrypt_bytes(data, [identity])
            pytest.fail(name)
    # Well-formed armor around nothing: no age header inside (the test-vector
    # suite's armor_empty is a header failure, not an armor failure).
    with pytest.raises(HeaderError):
        age.decrypt_bytes(
            b"-----BEGIN AGE ENCRYPTED FILE-----\n-----END AGE ENCRYPTED FILE-----\n", [identity]
        )


def test_large_armored_round_trip(identity: age.X25519Identity) -> None:
    data = os.urandom(1_000_003)
    armored = age.encrypt_bytes(data, [identity.recipient], armor=True)
    assert age.decrypt_bytes(armored, [identity]) == data
    at = len(armored) // 2
    while armored[at : at + 1] in (b"\n", b"A"):
        at += 1
    with pytest.raises(PayloadError):
        age.decrypt_bytes(armored[:at] + b"A" + armored[at + 1 :], [identity])
    with pytest.raises(ArmorError):
        age.decrypt_bytes(armored[:-200] + armored[-100:], [identity])


def test_not_age_at_all(identity: age.X25519Identity) -> None:
    for data in (b"", b"hello world", b"\x00" * 100, b"age-encryption.org/v1"):
        with pytest.raises(HeaderError):
            age.decrypt_bytes(data, [identity])


def test_string_and_object_arguments(identity: age.X25519Identity) -> None:
    sealed = age.encrypt_bytes(b"x", [str(identity.recipient)])
    assert age.decrypt_bytes(sealed, [str(identity)]) == b"x"
    with pytest.raises(KeyFormatError):
        age.encrypt_bytes(b"x", ["age1notakey"])
    with pytest.raises(KeyFormatError):
        age.decrypt_bytes(sealed, ["AGE-SECRET-KEY-1NOPE"])


def test_error_messages_hold_no_secrets(identity: age.X25519Identity) -> None:
    secret = str(identity)
    # Swap the last character for a different one; reusing it would leave the key valid.
    other = "Q" if secret[-1] != "Q" else "P"
    for bad in (secret.lower(), secret[:-1] + other, secret + "Q"):
        with pytest.raises(KeyFormatError) as err:
            age.parse_identity(bad)
        assert secret[16:40].lower() not in str(err.value).lower()
    with pytest.raises(NoMatchingIdentity) as err2:
        age.decrypt_bytes(
            age.encrypt_bytes(b"x", [age.ScryptRecipient("pw", 10)]), passphrases=["hunter2"]
        )
    assert "hunter2" not in str(err2.value)
