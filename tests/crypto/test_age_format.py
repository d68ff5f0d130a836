"""The header: exact ABNF, canonical base64, round trip of parse/serialize."""

from __future__ import annotations

import pytest

from vault.crypto.format import Stanza, encode_header, parse_header
from vault.crypto.primitives import b64decode_raw, b64encode_raw
from vault.errors import HeaderError

MAC = b"M" * 32
MAC_B64 = b64encode_raw(MAC)
SHARE = b64encode_raw(b"s" * 32)
V1 = b"age-encryption.org/v1\n"


def header(*stanza_lines: bytes, mac_line: bytes | None = None) -> bytes:
    mac_line = b"--- " + MAC_B64 + b"\n" if mac_line is None else mac_line
    return V1 + b"".join(stanza_lines) + mac_line


def test_round_trip_and_body_wrapping() -> None:
    for size in (0, 1, 32, 47, 48, 49, 95, 96, 97, 200):
        stanza = Stanza("X25519", ("abc", "d/e+f"), bytes(range(256))[:size] * 1)
        data = encode_header([stanza], MAC)
        lines = data.split(b"\n")
        body_lines = lines[2:-2]
        assert all(len(line) == 64 for line in body_lines[:-1])
        assert len(body_lines[-1]) < 64  # may be empty
        parsed = parse_header(data)
        assert parsed.stanzas == (stanza,) and parsed.mac == MAC
        assert parsed.encode() == data


def test_full_last_line_needs_empty_line() -> None:
    body = b64encode_raw(b"A" * 48)
    assert len(body) == 64
    ok = header(b"-> t\n" + body + b"\n\n")
    assert parse_header(ok).stanzas[0].body == b"A" * 48
    with pytest.raises(HeaderError, match="alphabet"):  # "--- " read as a body line
        parse_header(header(b"-> t\n" + body + b"\n"))


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (b"age-encryption.org/v2\n-> t\n\n--- " + MAC_B64 + b"\n", "unsupported"),
        (b"age-encryption.org/v1 \n-> t\n\n--- " + MAC_B64 + b"\n", "unsupported"),
        (b"AGE-encryption.org/v1\n-> t\n\n--- " + MAC_B64 + b"\n", "not an age file"),
        (header(), "at least one"),
        (header(b"-> \n\n"), "empty argument"),
        (header(b"->\n\n"), "followed by a space"),
        (header(b"-> a  b\n\n"), "empty argument"),
        (header(b"-> a b \n\n"), "empty argument"),
        (header(b"-> a \xc3\xa9\n\n"), "printable ASCII"),
        (header(b"-> a\tb\n\n"), "printable ASCII"),
        (header(b"-> a\x7f\n\n"), "printable ASCII"),
        (header(b"-> a\n" + b"A" * 65 + b"\n\n"), "longer than 64"),
        (header(b"-> a\nAAA=\n"), "padded"),
        (header(b"-> a\nAAB\n"), "canonical"),
        (header(b"-> a\nAAAA\r\n"), "alphabet"),
        (header(b"-> a\nA\n"), "impossible length"),
        (header(b"-> a\n" + b"A" * 32 + b"\n" + b"A" * 32 + b"\n"), "neither"),
        (header(b"-> a\n\n", mac_line=b"---" + MAC_B64 + b"\n"), "single space"),
        (header(b"-> a\n\n", mac_line=b"---  " + MAC_B64 + b"\n"), "one argument"),
        (header(b"-> a\n\n", mac_line=b"--- " + MAC_B64 + b" \n"), "one argument"),
        (header(b"-> a\n\n", mac_line=b"--- " + MAC_B64[:-1] + b"\n"), "header MAC"),
        (header(b"-> a\n\n", mac_line=b"--- " + MAC_B64 + b"=\n"), "padded"),
        (header(b"-> a\n\n", mac_line=b"--- " + MAC_B64), "newline"),
        (header(b"-> a\n\n", mac_line=b"--- \n"), "32 bytes"),
        (header(b"-> a\n\n", mac_line=b""), "ends inside"),
        (header(b"-> a\n"), "alphabet"),
        (V1 + b"-> a\n", "ends inside"),
        (header(b"-> a\n\n") + b"x", "after the header"),
        (b"", "ends inside"),
        (b"-> a\n", "not an age file"),
        (V1 + b"-> " + b"a" * 70000 + b"\n\n--- " + MAC_B64 + b"\n", "longer than"),
    ],
)
def test_rejections(data: bytes, rule: str) -> None:
    with pytest.raises(HeaderError, match=rule):
        parse_header(data)


def test_strict_base64() -> None:
    assert b64decode_raw("", "x") == b""
    assert b64decode_raw("AAE", "x") == b"\x00\x01"
    for bad in ["AAF", "AA==", "AA=", "A", "AA A", "AA\n", "AA-_", "é"]:
        with pytest.raises(HeaderError):
            b64decode_raw(bad, "x")


def test_stanza_arguments_validated_on_construction() -> None:
    with pytest.raises(HeaderError):
        Stanza("", (), b"")
    with pytest.raises(HeaderError):
        Stanza("a", ("b c",), b"")
