"""C2SP tlog-proof (c2sp.org/tlog-proof@v1): an offline proof that an entry is logged.

    c2sp.org/tlog-proof@v1
    extra <base64>            (optional, unauthenticated)
    index <decimal>
    <base64 hash>             (zero or more: the audit path, leaf's sibling first)

    <the signed checkpoint note, verbatim>

Receipts carry one of these per audit entry they cite, so a requester can check
the entry against the owner's signed checkpoint with no access to the vault.
Parsing is strict; the checkpoint's signatures are checked by vault.audit.verify.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from vault.audit.note import HASH_SIZE, NoteError, b64decode_strict, b64encode

HEADER = "c2sp.org/tlog-proof@v1"
# A log of more than 2**63 entries would need more than 63 proof hashes.
MAX_PROOF_HASHES = 63

_DECIMAL = re.compile(r"(0|[1-9][0-9]*)")


class ProofError(NoteError):
    """A tlog-proof is malformed."""


def _b64(text: str, what: str) -> bytes:
    try:
        return b64decode_strict(text, what)
    except NoteError as exc:
        raise ProofError(exc.message) from None


@dataclass(frozen=True)
class InclusionProof:
    index: int
    hashes: tuple[bytes, ...]
    checkpoint: str  # the signed note, verbatim
    extra: bytes | None = None


def format_inclusion_proof(
    index: int, hashes: Sequence[bytes], checkpoint_note: str, extra: bytes | None = None
) -> str:
    """Write a tlog-proof for entry *index* against *checkpoint_note*."""
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ProofError("tlog-proof: the index must be a non-negative integer")
    if any(not isinstance(h, bytes) or len(h) != HASH_SIZE for h in hashes):
        raise ProofError("tlog-proof: every proof hash must be 32 bytes")
    if not checkpoint_note or not checkpoint_note.endswith("\n"):
        raise ProofError("tlog-proof: the checkpoint note must end with a newline")
    lines = [HEADER]
    if extra is not None:
        if not extra:
            raise ProofError("tlog-proof: extra data, when present, must not be empty")
        lines.append("extra " + b64encode(extra))
    lines.append(f"index {index}")
    lines.extend(b64encode(h) for h in hashes)
    return "\n".join(lines) + "\n\n" + checkpoint_note


def parse_inclusion_proof(text: str) -> InclusionProof:
    """Parse a tlog-proof strictly. The checkpoint is returned unverified."""
    if not isinstance(text, str):
        raise ProofError("tlog-proof: expected text")
    head, sep, checkpoint = text.partition("\n\n")
    if not sep:
        raise ProofError("tlog-proof: no blank line before the checkpoint")
    if not checkpoint:
        raise ProofError("tlog-proof: the checkpoint is missing")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise ProofError(f"tlog-proof: the first line must be {HEADER}")
    pos = 1
    extra: bytes | None = None
    if pos < len(lines) and lines[pos].startswith("extra "):
        extra = _b64(lines[pos][len("extra ") :], "tlog-proof extra data")
        if not extra:
            raise ProofError("tlog-proof: the extra line is empty")
        pos += 1
    if pos >= len(lines) or not lines[pos].startswith("index "):
        raise ProofError("tlog-proof: the 'index N' line is missing")
    index_text = lines[pos][len("index ") :]
    if not _DECIMAL.fullmatch(index_text) or len(index_text) > 19:
        raise ProofError("tlog-proof: the index must be a decimal with no leading zeros")
    index = int(index_text)
    if index >= 1 << 63:
        raise ProofError("tlog-proof: the index is out of range")
    hash_lines = lines[pos + 1 :]
    if len(hash_lines) > MAX_PROOF_HASHES:
        raise ProofError("tlog-proof: too many proof hashes")
    hashes = []
    for i, line in enumerate(hash_lines):
        h = _b64(line, f"tlog-proof hash {i}")
        if len(h) != HASH_SIZE:
            raise ProofError(f"tlog-proof: hash {i} is not 32 bytes")
        hashes.append(h)
    return InclusionProof(index, tuple(hashes), checkpoint, extra)
