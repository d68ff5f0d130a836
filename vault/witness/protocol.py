"""The add-checkpoint exchange of c2sp.org/tlog-witness, as bytes in and out.

Pure: no sockets, no files. The witness parses requests with
:func:`parse_add_checkpoint`; a log (the vault) builds them with
:func:`add_checkpoint_body` and reads the answer with :func:`read_reply`.
The same bodies travel over HTTP or, for the offline exchange, in files.

A request is the line ``old <size>``, up to 63 base64 hash lines (the RFC 6962
consistency proof from that size), an empty line, then the signed checkpoint:

    old 20
    <base64 hash>
    …

    <origin>
    <size>
    <base64 root>

    — <log key name> <base64 signature>

A cosigned reply (200) is one or more cosignature lines; a conflict (409,
``text/x.tlog.size``) is the size the witness last cosigned, in decimal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from vault.audit.note import (
    HASH_SIZE,
    Checkpoint,
    NoteError,
    b64decode_strict,
    b64encode,
    parse_checkpoint,
    split_note,
)
from vault.safetext import shown
from vault.witness.cosignature import Cosignature, CosignerKey, verified_cosignatures
from vault.witness.errors import MalformedRequest, WitnessRefused

#: The spec's limit on consistency proof lines.
MAX_PROOF_LINES = 63
#: A request: 63 hashes and a checkpoint with its signatures fit many times over.
MAX_REQUEST_BYTES = 1 << 20
#: A reply worth reading: many cosignature lines, never megabytes.
MAX_REPLY_BYTES = 64 << 10
SIZE_CONTENT_TYPE = "text/x.tlog.size"

_OLD_LINE = re.compile(r"old (0|[1-9][0-9]{0,18})")
_SIZE_LINE = re.compile(r"(0|[1-9][0-9]{0,18})\n")


@dataclass(frozen=True)
class AddCheckpoint:
    """A parsed add-checkpoint request. The signatures are not checked yet."""

    old_size: int
    proof: tuple[bytes, ...]
    note: str
    checkpoint: Checkpoint


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """Parse a request body strictly; MalformedRequest (400) says which rule failed."""
    if len(body) > MAX_REQUEST_BYTES:
        raise MalformedRequest("the request is too large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedRequest("the request is not UTF-8") from None
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise MalformedRequest("the request has no empty line before the checkpoint")
    lines = head.split("\n")
    match = _OLD_LINE.fullmatch(lines[0])
    if match is None:
        raise MalformedRequest(
            "the first line must be 'old <size>', a decimal with no leading zeros"
        )
    old_size = int(match.group(1))
    if old_size >= 1 << 63:
        raise MalformedRequest("the old size is out of range")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise MalformedRequest(f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof = []
    for n, line in enumerate(lines[1:], 1):
        try:
            raw = b64decode_strict(line, f"proof line {n}")
        except NoteError as exc:
            raise MalformedRequest(exc.message) from None
        if len(raw) != HASH_SIZE:
            raise MalformedRequest(f"proof line {n}: a hash is {HASH_SIZE} bytes")
        proof.append(raw)
    if old_size == 0 and proof:
        raise MalformedRequest("the proof must be empty when the old size is 0")
    try:
        checkpoint_text, _sigs = split_note(note)
        checkpoint = parse_checkpoint(checkpoint_text)
    except NoteError as exc:
        raise MalformedRequest(f"the checkpoint: {exc.message}") from None
    if old_size > checkpoint.size:
        raise MalformedRequest(
            f"the old size {old_size} is larger than the checkpoint's size {checkpoint.size}"
        )
    return AddCheckpoint(old_size, tuple(proof), note, checkpoint)


def add_checkpoint_body(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    """The request asking a witness to cosign the signed checkpoint *note*.

    *old_size* is the size the witness last cosigned (0 the first time, or
    when unknown: the witness then answers with its size) and *proof* the
    consistency proof from that size to the checkpoint's.
    """
    if isinstance(old_size, bool) or not isinstance(old_size, int) or old_size < 0:
        raise ValueError("the old size must be a non-negative integer")
    if len(proof) > MAX_PROOF_LINES or any(len(h) != HASH_SIZE for h in proof):
        raise ValueError(f"a proof is at most {MAX_PROOF_LINES} hashes of {HASH_SIZE} bytes")
    if not note.endswith("\n"):
        raise ValueError("a signed checkpoint ends with a newline")
    lines = [f"old {old_size}", *(b64encode(h) for h in proof)]
    return ("\n".join(lines) + "\n\n" + note).encode("utf-8")


def cosignature_lines(cosignatures: Sequence[Cosignature]) -> bytes:
    """A 200 reply's body."""
    return "".join(c.line() for c in cosignatures).encode("utf-8")


def size_line(size: int) -> bytes:
    """A 409 reply's body."""
    return f"{size}\n".encode("ascii")


@dataclass(frozen=True)
class Cosigned:
    """The witness cosigned: its verified cosignatures, and the note carrying them."""

    cosignatures: tuple[Cosignature, ...]
    note: str


@dataclass(frozen=True)
class Conflict:
    """The witness last cosigned another size: ask again from *size*."""

    size: int


def parse_size(body: bytes) -> int:
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        text = ""
    match = _SIZE_LINE.fullmatch(text)
    if match is None:
        raise WitnessRefused("the witness answered 409 without a valid size", 409)
    return int(match.group(1))


def attach(note: str, cosignatures: Sequence[Cosignature]) -> str:
    """*note* with the cosignature lines added after its own signatures."""
    return note + cosignature_lines(cosignatures).decode("utf-8")


def _verify_cosigned(note: str, body: bytes, witness_keys: Sequence[CosignerKey | str]) -> Cosigned:
    if len(body) > MAX_REPLY_BYTES:
        raise WitnessRefused("the witness's reply is too large", 200)
    try:
        lines = body.decode("utf-8")
        if not lines.endswith("\n") or "\n\n" in lines:
            raise NoteError("the reply must be signature lines, each ending in a newline")
        cosigned = verified_cosignatures(note + lines, witness_keys)
    except (UnicodeDecodeError, NoteError) as exc:
        reason = exc.message if isinstance(exc, NoteError) else "not UTF-8"
        raise WitnessRefused(f"the witness's reply does not verify: {reason}", 200) from None
    if not cosigned:
        raise WitnessRefused("the reply has no cosignature from a trusted witness key", 200)
    return Cosigned(tuple(cosigned), attach(note, cosigned))


def read_reply(
    status: int, body: bytes, note: str, witness_keys: Sequence[CosignerKey | str]
) -> Cosigned | Conflict:
    """Read a witness's answer to the add-checkpoint request for *note*.

    200: the cosignatures by *witness_keys* (others are ignored; one that
    does not verify is an error). 409: the witness's size. Anything else is
    a WitnessRefused carrying the status and the witness's (escaped) reason.
    """
    if status == 200:
        return _verify_cosigned(note, body, witness_keys)
    if status == 409:
        return Conflict(parse_size(body))
    reason = body[:300].decode("utf-8", "replace").strip()
    raise WitnessRefused(f"the witness refused the checkpoint ({status}): {shown(reason)}", status)


def read_offline_reply(
    body: bytes, note: str, witness_keys: Sequence[CosignerKey | str]
) -> Cosigned | Conflict:
    """Read the file ``ringfence witness cosign`` wrote: cosignatures, or a size."""
    if _SIZE_LINE.fullmatch(body.decode("ascii", "replace")):
        return Conflict(parse_size(body))
    return _verify_cosigned(note, body, witness_keys)
