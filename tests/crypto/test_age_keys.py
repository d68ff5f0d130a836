"""Bech32 and key strings: strict in every way age is strict."""

from __future__ import annotations

import pytest

from vault import age
from vault.crypto import bech32
from vault.errors import KeyFormatError

SPEC_IDENTITY = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
SPEC_RECIPIENT = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"


def test_spec_example_identity_gives_spec_recipient() -> None:
    ident = age.parse_identity(SPEC_IDENTITY)
    assert str(ident) == SPEC_IDENTITY
    assert str(ident.recipient) == SPEC_RECIPIENT
    assert age.parse_recipient(SPEC_RECIPIENT) == ident.recipient


def test_generate_round_trips_and_hashes(identity: age.X25519Identity) -> None:
    text = str(identity)
    assert text.startswith("AGE-SECRET-KEY-1") and text.isupper()
    assert age.parse_identity(text) == identity
    rec = age.parse_recipient(str(identity.recipient))
    assert rec == identity.recipient and hash(rec) == hash(identity.recipient)
    assert len({rec, identity.recipient}) == 1
    assert "SECRET" not in repr(identity)


def test_bip173_valid_strings_decode() -> None:
    # Valid Bech32 strings from BIP173 (data part only checked for round trip).
    for s in ["A12UEL5L", "a12uel5l", "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw"]:
        hrp, data = bech32.decode(s)
        assert bech32.encode(hrp, data) == s


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        (SPEC_RECIPIENT[:10] + SPEC_RECIPIENT[10:].upper(), "mixed"),
        (SPEC_RECIPIENT[:-1] + ("q" if SPEC_RECIPIENT[-1] != "q" else "p"), "checksum"),
        (SPEC_RECIPIENT.upper(), "lowercase"),
        ("age1", "checksum"),
        ("1qqqqqqqq", "separator"),
        (SPEC_RECIPIENT.replace("z", "b", 1), "charset"),
        (SPEC_RECIPIENT + " ", "charset"),
        (" " + SPEC_RECIPIENT, "outside 33..126"),
        ("age1" + "\u212a" * 10, "non-ASCII"),
        (bech32.encode("age", bytes(31)), "32 bytes"),
        (bech32.encode("age", bytes(33)), "32 bytes"),
        (bech32.encode("agf", bytes(32)), "lowercase"),
        ("", "separator"),
    ],
)
def test_bad_recipients_are_key_format_errors(text: str, rule: str) -> None:
    with pytest.raises(KeyFormatError, match=rule):
        age.parse_recipient(text)


def test_bech32m_is_rejected() -> None:
    # Same data as a valid key, but with the Bech32m checksum constant.
    hrp, data = bech32.decode(SPEC_RECIPIENT)
    values = bech32._convert_bits(data, 8, 5, pad=True)
    poly = bech32._polymod(bech32._hrp_expand(hrp) + values + [0] * 6) ^ 0x2BC830A3
    checksum = [(poly >> 5 * (5 - i)) & 31 for i in range(6)]
    text = hrp + "1" + "".join(bech32.CHARSET[v] for v in values + checksum)
    with pytest.raises(KeyFormatError, match="checksum"):
        age.parse_recipient(text)


def test_non_zero_padding_bits_rejected() -> None:
    hrp, data = bech32.decode(SPEC_RECIPIENT)
    values = bech32._convert_bits(data, 8, 5, pad=True)
    values[-1] |= 1  # 32 bytes = 256 bits = 51 groups + 4 padding bits
    poly = bech32._polymod(bech32._hrp_expand(hrp) + values + [0] * 6) ^ 1
    checksum = [(poly >> 5 * (5 - i)) & 31 for i in range(6)]
    text = hrp + "1" + "".join(bech32.CHARSET[v] for v in values + checksum)
    with pytest.raises(KeyFormatError, match="padding"):
        age.parse_recipient(text)


def test_identity_case_and_kind_rules() -> None:
    with pytest.raises(KeyFormatError, match="uppercase"):
        age.parse_identity(SPEC_IDENTITY.lower())
    with pytest.raises(KeyFormatError, match="uppercase"):
        age.parse_identity(SPEC_RECIPIENT)
    with pytest.raises(KeyFormatError):
        age.parse_identity(SPEC_IDENTITY + "\n")
    with pytest.raises(KeyFormatError):
        age.parse_identity(b"AGE-SECRET-KEY-1")  # type: ignore[arg-type]


def test_long_strings_allowed_by_age() -> None:
    # age lifts BIP173's 90-character limit (post-quantum keys are ~2 KB).
    text = bech32.encode("age1pq", bytes(range(256)) * 5)
    assert len(text) > 2000
    assert bech32.decode(text) == ("age1pq", bytes(range(256)) * 5)


def test_identities_file() -> None:
    a, b = age.generate_identity(), age.generate_identity()
    text = f"# created: now\n# public key: {a.recipient}\n{a}\n\n{b}\r\n# end\n"
    assert age.parse_identities_file(text) == [a, b]
    with pytest.raises(KeyFormatError, match="no identities"):
        age.parse_identities_file("# nothing\n\n")
    with pytest.raises(KeyFormatError, match="line 2") as err:
        age.parse_identities_file(f"{a}\n {b}\n")
    assert str(b) not in str(err.value)
