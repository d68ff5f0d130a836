"""The age v1 header as pure bytes: parse and serialize.

    age-encryption.org/v1
    -> X25519 <base64 share>
    <base64 body, wrapped at 64 columns, last line shorter than 64>
    --- <base64 MAC>

The parser accepts exactly the ABNF of the spec and nothing else, because
header bytes are authenticated only *after* a file key has been unwrapped from
them: anything lenient here would be attacker-controlled input reaching the
recipient implementations. Every rejection is a HeaderError saying which rule
failed. Serializing a parsed header gives back the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence

from vault.crypto.primitives import b64decode_raw, b64encode_raw
from vault.errors import HeaderError

VERSION_PREFIX = b"age-encryption.org/"
VERSION_LINE = b"age-encryption.org/v1\n"
STANZA_PREFIX = b"-> "
MAC_PREFIX = b"--- "
MAC_MARK = b"---"
COLUMNS = 64
"""Base64 characters per full body line (48 bytes)."""
MAC_SIZE = 32

MAX_LINE = 64 * 1024
"""Longest header line read. age has no limit, but the longest native argument
(an ML-KEM share) is ~1.5 KiB; the cap keeps a hostile file from making us
buffer an unbounded line."""
MAX_HEADER = 16 * 1024 * 1024
"""Longest header read, for the same reason (about 100,000 X25519 stanzas)."""

_VCHAR = frozenset(range(0x21, 0x7F))


class Stanza:
    """One recipient stanza: ``-> type args...`` and its decoded body.

    *type* is the first argument of the line (``X25519``, ``scrypt``, …);
    *args* are the ones after it. Immutable; equal by value.
    """

    __slots__ = ("args", "body", "type")

    type: str
    args: tuple[str, ...]
    body: bytes

    def __init__(self, type: str, args: tuple[str, ...], body: bytes) -> None:  # noqa: A002
        for arg in (type, *args):
            if not arg or any(not 0x21 <= ord(c) <= 0x7E for c in arg):
                raise HeaderError("stanza argument must be 1 or more printable ASCII characters")
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "args", tuple(args))
        object.__setattr__(self, "body", bytes(body))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Stanza is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Stanza):
            return NotImplemented
        return (self.type, self.args, self.body) == (other.type, other.args, other.body)

    def __hash__(self) -> int:
        return hash((self.type, self.args, self.body))

    def __repr__(self) -> str:
        return f"Stanza({self.type!r}, {self.args!r}, <{len(self.body)} bytes>)"

    def encode(self) -> bytes:
        words = [self.type, *self.args]
        line = b" ".join([b"->", *(w.encode("ascii") for w in words)])
        out = [line, b"\n"]
        text = b64encode_raw(self.body)
        # Full 64-column lines, then a final line shorter than 64 columns,
        # which is empty when the body fills its last line exactly.
        for i in range(0, len(text) - len(text) % COLUMNS, COLUMNS):
            out += [text[i : i + COLUMNS], b"\n"]
        out += [text[len(text) - len(text) % COLUMNS :], b"\n"]
        return b"".join(out)


class Header:
    """A parsed header: its stanzas and its 32-byte MAC."""

    __slots__ = ("mac", "stanzas")

    def __init__(self, stanzas: tuple[Stanza, ...], mac: bytes) -> None:
        self.stanzas = tuple(stanzas)
        self.mac = mac

    def mac_input(self) -> bytes:
        return encode_without_mac(self.stanzas)

    def encode(self) -> bytes:
        return encode_header(self.stanzas, self.mac)


def encode_without_mac(stanzas: Iterable[Stanza]) -> bytes:
    """The bytes the header MAC covers: up to and including ``---``."""
    return b"".join([VERSION_LINE, *(s.encode() for s in stanzas), MAC_MARK])


def encode_header(stanzas: Sequence[Stanza], mac: bytes) -> bytes:
    if not stanzas:
        raise HeaderError("a header needs at least one recipient stanza")
    if len(mac) != MAC_SIZE:
        raise HeaderError("the header MAC must be 32 bytes")
    return encode_without_mac(stanzas) + b" " + b64encode_raw(mac) + b"\n"


class _LineReader:
    """Reads LF-terminated lines with a per-line and a total size cap."""

    def __init__(self, readline: Callable[[int], bytes]) -> None:
        self._readline = readline
        self.total = 0
        self.consumed: list[bytes] = []

    def line(self, where: str) -> bytes:
        """The next line without its LF; HeaderError at EOF or when too long."""
        raw = self._readline(MAX_LINE + 1)
        if not isinstance(raw, bytes | bytearray):
            raise HeaderError("the header must be read from a binary stream")
        self.total += len(raw)
        if self.total > MAX_HEADER:
            raise HeaderError(f"header longer than {MAX_HEADER} bytes")
        if not raw:
            raise HeaderError(f"{where}: the file ends inside the header")
        if not raw.endswith(b"\n"):
            if len(raw) > MAX_LINE:
                raise HeaderError(f"{where}: header line longer than {MAX_LINE} bytes")
            raise HeaderError(f"{where}: line does not end with a newline")
        self.consumed.append(bytes(raw))
        return bytes(raw[:-1])


def _parse_stanza(arg_line: bytes, lines: _LineReader, index: int) -> Stanza:
    where = f"stanza {index + 1}"
    parts = arg_line[len(STANZA_PREFIX) :].split(b" ")
    for part in parts:
        if not part:
            raise HeaderError(f"{where}: empty argument (double, leading or trailing space)")
        if not _VCHAR.issuperset(part):
            raise HeaderError(f"{where}: argument has a character outside printable ASCII")
    chunks: list[bytes] = []
    while True:
        line = lines.line(f"{where} body")
        if len(line) > COLUMNS:
            raise HeaderError(f"{where}: body line longer than {COLUMNS} columns")
        chunks.append(b64decode_raw(line, f"{where} body"))
        if len(line) < COLUMNS:
            break
    return Stanza(
        type=parts[0].decode("ascii"),
        args=tuple(p.decode("ascii") for p in parts[1:]),
        body=b"".join(chunks),
    )


def _parse(readline: Callable[[int], bytes]) -> tuple[Header, bytes]:
    lines = _LineReader(readline)
    version = lines.line("version line")
    if not version.startswith(VERSION_PREFIX):
        raise HeaderError("not an age file: missing the 'age-encryption.org/' version line")
    if version + b"\n" != VERSION_LINE:
        raise HeaderError("unsupported age version (only age-encryption.org/v1 is supported)")
    stanzas: list[Stanza] = []
    while True:
        line = lines.line("header")
        if line.startswith(MAC_MARK):
            if not line.startswith(MAC_PREFIX):
                raise HeaderError("MAC line: '---' must be followed by a single space")
            encoded = line[len(MAC_PREFIX) :]
            if b" " in encoded:
                raise HeaderError("MAC line: expected exactly one argument after '---'")
            mac = b64decode_raw(encoded, "header MAC")
            if len(mac) != MAC_SIZE:
                raise HeaderError("MAC line: the MAC must be 32 bytes")
            if not stanzas:
                raise HeaderError("a header needs at least one recipient stanza")
            # The exact bytes read; strict parsing makes them canonical, so
            # they equal Header.encode() and the MAC covers what was read.
            return Header(tuple(stanzas), mac), b"".join(lines.consumed)
        if line.startswith(b"->"):
            if not line.startswith(STANZA_PREFIX):
                raise HeaderError(f"stanza {len(stanzas) + 1}: '->' must be followed by a space")
            stanzas.append(_parse_stanza(line, lines, len(stanzas)))
            continue
        raise HeaderError("header line is neither a stanza ('-> ') nor the MAC line ('--- ')")


def parse_header(data: bytes) -> Header:
    """Parse *data*, which must be exactly one header and nothing more."""
    header, raw = read_header_from(io.BytesIO(data).readline)
    if len(raw) != len(data):
        raise HeaderError("data after the header MAC line")
    return header


def read_header_from(readline: Callable[[int], bytes]) -> tuple[Header, bytes]:
    """Parse a header line by line with *readline* (e.g. ``stream.readline``).

    Returns the header and its exact bytes; the stream is left at the first
    payload byte, since each line is consumed only up to its LF.
    """
    return _parse(readline)
