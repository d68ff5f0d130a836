"""C2SP signed notes (c2sp.org/signed-note) and tlog checkpoints (c2sp.org/tlog-checkpoint).

A checkpoint is three lines (origin, tree size, base64 root hash), optionally
followed by extension lines. It travels as a signed note: the text, a blank
line, then one line per signature, ``— <key name> base64(key ID || signature)``,
where the dash is U+2014. We sign with Ed25519 (signature type 0x01) and the key
ID is the first four bytes of SHA-256(key name || 0x0A || 0x01 || public key).
A verifier key is written ``<name>+<key ID as 8 hex digits>+base64(0x01 || public key)``,
the encoding golang.org/x/mod/sumdb/note and the C2SP tools use.

Parsing is strict: anything the specs do not allow is an IntegrityError that
says which rule failed. The signature rules are the spec's: signatures from
unknown keys are ignored, a bad signature from a known key rejects the whole
note, and a note with no verified signature from a known key is rejected.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vault.errors import IntegrityError
from vault.signed import raw_public

ALG_ED25519 = 0x01
EM_DASH = "\u2014"
SIG_PREFIX = EM_DASH + " "
HASH_SIZE = 32

#: The spec asks verifiers to accept at least 16; more is treated as abuse.
MAX_SIGNATURES = 100
#: Far above any checkpoint we write, far below anything worth parsing.
MAX_NOTE_BYTES = 1 << 20

_DECIMAL = re.compile(r"(0|[1-9][0-9]*)")
_HEX8 = re.compile(r"[0-9a-f]{8}")
# Python's str.isspace() covers the Unicode White_Space characters; the spec
# forbids "Unicode spaces" and the plus sign in key names.


class NoteError(IntegrityError):
    """A signed note or checkpoint is malformed or its signatures do not verify."""


def b64decode_strict(text: str, what: str) -> bytes:
    """Standard padded base64 (RFC 4648 §4), in its one canonical spelling."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise NoteError(f"{what}: not valid base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise NoteError(f"{what}: base64 is not canonical")
    return raw


def b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def check_key_name(name: str) -> None:
    if not isinstance(name, str) or not name:
        raise NoteError("key name: must be non-empty")
    if "+" in name or any(c.isspace() for c in name):
        raise NoteError(f"key name {name!r}: must not contain spaces or '+'")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise NoteError(f"key name {name!r}: must not contain control characters")


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte key ID of an Ed25519 key: SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    return hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key
    ).digest()[:4]


@dataclass(frozen=True)
class VerifierKey:
    """A trusted public key: name, key ID and the raw Ed25519 public key."""

    name: str
    key_id: bytes
    public_key: bytes

    def encode(self) -> str:
        key = b64encode(bytes([ALG_ED25519]) + self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{key}"

    def __str__(self) -> str:
        return self.encode()

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


def parse_verifier_key(text: str) -> VerifierKey:
    """Parse ``name+hash+base64key``; the hash must match the key, the key must be Ed25519."""
    if not isinstance(text, str):
        raise NoteError("verifier key: expected text")
    parts = text.split("+", 2)  # base64 may itself contain "+"
    if len(parts) != 3:
        raise NoteError("verifier key: expected <name>+<key ID>+<base64 key>")
    name, hex_id, b64 = parts
    check_key_name(name)
    if not _HEX8.fullmatch(hex_id):
        raise NoteError("verifier key: the key ID must be 8 lowercase hex digits")
    raw = b64decode_strict(b64, "verifier key")
    if len(raw) == 0 or raw[0] != ALG_ED25519:
        raise NoteError("verifier key: unsupported signature type (only Ed25519, 0x01)")
    if len(raw) != 33:
        raise NoteError("verifier key: an Ed25519 public key is 32 bytes")
    public = raw[1:]
    kid = key_id(name, public)
    if kid.hex() != hex_id:
        raise NoteError(f"verifier key {name}: the key ID does not match the key")
    try:
        Ed25519PublicKey.from_public_bytes(public)
    except ValueError:
        raise NoteError(f"verifier key {name}: not an Ed25519 public key") from None
    return VerifierKey(name, kid, public)


class NoteSigner:
    """Signs notes as *name* with an Ed25519 private key."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        check_key_name(name)
        self.name = name
        self._key = private_key
        self.public_key = raw_public(private_key)
        self.key_id = key_id(name, self.public_key)

    def verifier(self) -> VerifierKey:
        return VerifierKey(self.name, self.key_id, self.public_key)

    def verifier_key(self) -> str:
        """The public verifier key string to hand to anyone who checks our notes."""
        return self.verifier().encode()

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    @property
    def private_key(self) -> Ed25519PrivateKey:
        """The key itself, for a JSON document signed as this signer (vault.signed)."""
        return self._key

    def __repr__(self) -> str:
        return f"NoteSigner({self.verifier_key()!r})"


def _check_text(text: str, what: str) -> None:
    for ch in text:
        if ch < " " and ch != "\n":
            raise NoteError(f"{what}: control character U+{ord(ch):04X} is not allowed")


def sign_note(body: bytes | str, signers: Sequence[NoteSigner]) -> str:
    """Sign *body* (text ending in a newline) with every signer; return the note."""
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("note text: not valid UTF-8") from None
    else:
        text = body
    if not text.endswith("\n"):
        raise NoteError("note text: must end with a newline")
    _check_text(text, "note text")
    if not signers:
        raise NoteError("a note needs at least one signer")
    message = text.encode("utf-8")
    lines = [f"{SIG_PREFIX}{s.name} {b64encode(s.key_id + s.sign(message))}\n" for s in signers]
    return text + "\n" + "".join(lines)


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes


def split_note(note: str | bytes) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its text and signature lines, checking the syntax only."""
    if isinstance(note, bytes):
        if len(note) > MAX_NOTE_BYTES:
            raise NoteError("note: too large")
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("note: not valid UTF-8") from None
    if not isinstance(note, str):
        raise NoteError("note: expected text")
    if len(note) > MAX_NOTE_BYTES:
        raise NoteError("note: too large")
    try:
        note.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteError("note: not valid UTF-8") from None
    _check_text(note, "note")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise NoteError("note: no blank line before the signatures")
    text, block = note[: cut + 1], note[cut + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteError("note: the signature lines must end with a newline")
    sig_lines = block[:-1].split("\n")
    if len(sig_lines) > MAX_SIGNATURES:
        raise NoteError(f"note: more than {MAX_SIGNATURES} signatures")
    sigs = []
    for line in sig_lines:
        if not line.startswith(SIG_PREFIX):
            raise NoteError(
                "note: a signature line must start with an em dash (U+2014) and a space"
            )
        rest = line[len(SIG_PREFIX) :]
        name, sep, b64 = rest.partition(" ")
        if not sep or " " in b64:
            raise NoteError("note: a signature line is '— <key name> <base64 signature>'")
        check_key_name(name)
        raw = b64decode_strict(b64, f"signature by {name}")
        if len(raw) < 5:
            raise NoteError(f"signature by {name}: too short")
        sigs.append(NoteSignature(name, raw[:4], raw[4:]))
    return text, sigs


def _as_keys(verifiers: Iterable[VerifierKey | str]) -> list[VerifierKey]:
    return [v if isinstance(v, VerifierKey) else parse_verifier_key(v) for v in verifiers]


def open_note(note: str | bytes, verifiers: Iterable[VerifierKey | str]) -> tuple[str, list[str]]:
    """Check a signed note against trusted keys.

    Returns the note text and the names of the keys whose signatures verified
    (each once, in note order). Unknown signers are ignored; a bad signature
    from a known key, or no verified signature at all, raises NoteError.
    """
    keys = _as_keys(verifiers)
    text, sigs = split_note(note)
    message = text.encode("utf-8")
    verified: list[str] = []
    for sig in sigs:
        matches = [k for k in keys if k.name == sig.name and k.key_id == sig.key_id]
        if not matches:
            continue
        if not any(k.verify(message, sig.signature) for k in matches):
            raise NoteError(f"note: the signature by {sig.name} does not verify")
        if sig.name not in verified:
            verified.append(sig.name)
    if not verified:
        raise NoteError("note: no signature from a trusted key")
    return text, verified


def note_signers(note: str | bytes) -> list[tuple[str, bytes]]:
    """The (name, key ID) of each signature line, unverified."""
    return [(s.name, s.key_id) for s in split_note(note)[1]]


@dataclass(frozen=True)
class Checkpoint:
    """A tlog checkpoint: the log's origin, tree size and root hash."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise NoteError("checkpoint: the origin must be one non-empty line")
        _check_text(self.origin, "checkpoint origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise NoteError("checkpoint: the size must be a non-negative integer")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise NoteError("checkpoint: the root must be a 32-byte hash")
        for ext in self.extensions:
            if not ext or "\n" in ext:
                raise NoteError("checkpoint: extension lines must be non-empty single lines")
            _check_text(ext, "checkpoint extension")

    def body(self) -> bytes:
        lines = [self.origin, str(self.size), b64encode(self.root), *self.extensions]
        return ("\n".join(lines) + "\n").encode("utf-8")


def parse_checkpoint(text: str | bytes) -> Checkpoint:
    """Parse a checkpoint's note text (without signatures), strictly."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("checkpoint: not valid UTF-8") from None
    if not isinstance(text, str) or not text.endswith("\n"):
        raise NoteError("checkpoint: must end with a newline")
    _check_text(text, "checkpoint")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError("checkpoint: needs origin, size and root hash lines")
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise NoteError("checkpoint: the origin line is empty")
    if not _DECIMAL.fullmatch(size_text) or len(size_text) > 19:
        raise NoteError("checkpoint: the size must be a decimal with no leading zeros")
    size = int(size_text)
    if size >= 1 << 63:
        raise NoteError("checkpoint: the size is out of range")
    root = b64decode_strict(root_text, "checkpoint root hash")
    if len(root) != HASH_SIZE:
        raise NoteError("checkpoint: the root hash must be 32 bytes")
    if any(not e for e in extensions):
        raise NoteError("checkpoint: extension lines must be non-empty")
    return Checkpoint(origin, size, root, tuple(extensions))


def open_checkpoint(
    note: str | bytes, verifiers: Iterable[VerifierKey | str]
) -> tuple[Checkpoint, list[str]]:
    """Verify a signed checkpoint note and parse its text."""
    text, names = open_note(note, verifiers)
    return parse_checkpoint(text), names
