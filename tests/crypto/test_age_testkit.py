"""Run the vendored age testkit vectors (see testkit/README.md)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from vault import age
from vault.crypto.armor import dearmor
from vault.errors import (
    AgeError,
    ArmorError,
    HeaderError,
    MACError,
    NoMatchingIdentity,
    PayloadError,
)

TESTKIT = Path(__file__).parent / "testkit"
EXPECT: dict[str, type[AgeError] | None] = {
    "success": None,
    "no match": NoMatchingIdentity,
    "HMAC failure": MACError,
    "header failure": HeaderError,
    "payload failure": PayloadError,
    "armor failure": ArmorError,
}
VECTORS = sorted(p for p in TESTKIT.iterdir() if p.name != "README.md")


def _load(path: Path) -> tuple[dict[str, list[str]], bytes]:
    meta, body = path.read_bytes().split(b"\n\n", 1)
    fields: dict[str, list[str]] = {}
    for line in meta.decode().split("\n"):
        key, value = line.split(": ", 1)
        fields.setdefault(key, []).append(value)
    return fields, body


def test_vectors_present() -> None:
    assert len(VECTORS) >= 30


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.name)
def test_vector(path: Path) -> None:
    fields, body = _load(path)
    expect = fields["expect"][0]
    kind = EXPECT[expect]
    src: io.BufferedIOBase = io.BytesIO(body)
    if fields.get("armored") == ["yes"]:
        src = dearmor(src)
    out = io.BytesIO()
    if kind is None:
        age.decrypt(src, out, fields.get("identity", []), fields.get("passphrase", []))
    else:
        with pytest.raises(kind):
            age.decrypt(src, out, fields.get("identity", []), fields.get("passphrase", []))
    if "payload" in fields:
        assert hashlib.sha256(out.getvalue()).hexdigest() == fields["payload"][0]
    else:
        assert out.getvalue() == b""


@pytest.mark.parametrize(
    "path",
    [p for p in VECTORS if _load(p)[0]["expect"] == ["success"]],
    ids=lambda p: p.name,
)
def test_success_vectors_with_autodetect(path: Path) -> None:
    fields, body = _load(path)
    plain = age.decrypt_bytes(body, fields.get("identity", []))
    assert hashlib.sha256(plain).hexdigest() == fields["payload"][0]


@pytest.mark.parametrize(
    "path",
    [
        p
        for p in VECTORS
        if _load(p)[0]["expect"][0] not in ("header failure", "armor failure")
        and "armored" not in _load(p)[0]
    ],
    ids=lambda p: p.name,
)
def test_header_round_trip(path: Path) -> None:
    """Any vector whose header parses re-encodes to the same bytes."""
    _, body = _load(path)
    src = io.BytesIO(body)
    header = age.read_header(src)
    from vault.crypto.format import parse_header

    assert parse_header(header).encode() == header
