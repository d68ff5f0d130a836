"""Does today's log extend an older signed checkpoint? Proven from the entries.

``audit consistency`` is what an owner (or anyone holding a receipt) runs to
show that nothing the log held at an older checkpoint was changed or removed
since. A proof built from the catalog's cached subtree hashes would only show
that the *cache* still agrees with the checkpoint: someone who edits an entry's
bytes and leaves the cached hashes alone would pass. So the entries up to the
newest checkpoint are read and hashed again (the same checks ``audit verify``
makes on each entry), the older root and the newest root are recomputed from
those hashes, and the consistency proof is built from them too.

The older checkpoint arrives in a file: a signed checkpoint note (as printed
by ``audit checkpoint``, also with CRLF line ends or trailing blank lines from
an editor or a mail client), or a receipt (``receipt.json``, or the export
folder holding it), whose ``audit.checkpoint`` is such a note.
"""

from __future__ import annotations

import errno
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vault.audit import merkle
from vault.audit.note import (
    Checkpoint,
    VerifierKey,
    open_checkpoint,
    parse_checkpoint,
    split_note,
)
from vault.audit.verify import verify_checkpoint_consistency
from vault.errors import IntegrityError, NotFound, UsageError
from vault.fsutil import read_regular
from vault.receipts.format import RECEIPT_JSON

if TYPE_CHECKING:
    from vault.audit.log import AuditLog

#: A receipt with thousands of clips is a few MiB; nothing larger is read.
MAX_FILE_BYTES = 64 << 20
RECEIPT_NAME = RECEIPT_JSON


@dataclass(frozen=True)
class ConsistencyReport:
    """The answer of :func:`check_extends`."""

    ok: bool
    old_size: int
    size: int
    reason: str


def _read_bounded(path: Path) -> bytes:
    try:
        return read_regular(path, MAX_FILE_BYTES)
    except FileNotFoundError:
        raise NotFound(f"{path}: no such file") from None
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            raise UsageError(f"{path} is not a regular file") from None
        if exc.errno == errno.EFBIG:
            raise UsageError(f"{path} is too large to be a checkpoint or a receipt") from None
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def _normalise(text: str) -> str:
    """A note as signed: LF line ends, exactly one newline at the end."""
    return text.replace("\r\n", "\n").rstrip("\n") + "\n"


def read_older_checkpoint(path: Path) -> str:
    """The signed checkpoint note in *path*: a note file, a receipt.json or an export folder.

    NotFound when nothing is there; UsageError when the file is neither a
    signed checkpoint nor a receipt holding one. The signature is not checked
    here (that is :func:`check_extends`'s job, against the vault's keys).
    """
    file = path / RECEIPT_NAME if path.is_dir() else path
    data = _read_bounded(file)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{file} is not a signed checkpoint: not UTF-8 text") from None
    if text.lstrip().startswith("{"):
        try:
            receipt = json.loads(text)
        except ValueError:
            raise UsageError(f"{file} is not a receipt: not valid JSON") from None
        audit = receipt.get("audit") if isinstance(receipt, dict) else None
        note = audit.get("checkpoint") if isinstance(audit, dict) else None
        if not isinstance(note, str):
            raise UsageError(f"{file} is JSON but not a receipt with an audit checkpoint")
        text, what = note, f"the checkpoint in {file}"
    else:
        what = str(file)
    note = _normalise(text)
    try:
        body, _sigs = split_note(note)
        parse_checkpoint(body)
    except IntegrityError as exc:
        raise UsageError(f"{what} is not a signed checkpoint: {exc.message}") from None
    return note


def _leaves(hashes: bytes) -> Iterator[bytes]:
    for i in range(0, len(hashes), merkle.HASH_SIZE):
        yield hashes[i : i + merkle.HASH_SIZE]


def check_extends(
    log: AuditLog,
    old_note: str | Checkpoint,
    new_note: str,
    verifier_keys: Sequence[str | VerifierKey],
) -> ConsistencyReport:
    """Does the log, as its entries stand, extend *old_note* up to *new_note*?

    *old_note* is a signed checkpoint note, which must verify against
    *verifier_keys* like *new_note*, or a :class:`Checkpoint` typed from paper
    (origin, size, root: unsigned, so only its root is compared, and the empty
    log proves nothing). No cached hash is trusted: entries [0, new size) are
    re-hashed from their bytes.
    """
    typed = isinstance(old_note, Checkpoint)
    what = "the paper checkpoint" if typed else "the older checkpoint"
    if isinstance(old_note, Checkpoint):
        old = old_note
    else:
        try:
            old, _ = open_checkpoint(old_note, verifier_keys)
        except IntegrityError as exc:
            return ConsistencyReport(False, 0, log.size(), f"{what}: {exc.message}")
    try:
        new, _ = open_checkpoint(new_note, verifier_keys)
    except IntegrityError as exc:
        return ConsistencyReport(
            False, old.size, log.size(), f"the newest checkpoint: {exc.message}"
        )

    def fail(reason: str) -> ConsistencyReport:
        return ConsistencyReport(False, old.size, new.size, reason)

    if old.origin != new.origin:
        return fail(f"{what} is of another log ({old.origin!r}, not {new.origin!r})")
    if typed and old.size == 0:
        return fail(f"{what} is of the empty log: that proves nothing")
    if old.size > new.size:
        return fail(
            f"the log has {new.size} entries but {what} covers {old.size}: entries were removed"
        )
    run = log.rehash(new.size)
    if run.problem is not None:
        index, why = run.problem
        where = "before" if index < old.size else "after"
        return fail(f"{why} ({where} {what}'s size {old.size})")
    leaves = run.leaf_hashes
    rng = merkle.CompactRange()
    old_root = merkle.EMPTY_ROOT
    for i, h in enumerate(_leaves(leaves)):
        if i == old.size:
            old_root = rng.root()
        rng.append(h)
    if old.size == new.size:
        old_root = rng.root()
    if old_root != old.root:
        return fail(
            f"the first {old.size} entries do not hash to {what}'s root: history "
            "was rewritten" + (" (or the root was mistyped)" if typed else "")
        )
    if rng.root() != new.root:
        return fail(
            f"the entries do not hash to the newest checkpoint's root "
            f"(size {new.size}): the log was changed"
        )
    width = merkle.HASH_SIZE
    proof = [
        merkle.root_from_leaves(_leaves(leaves[a * width : b * width]))
        for a, b in merkle.consistency_ranges(old.size, new.size)
    ]
    if typed:
        if not merkle.verify_consistency(old.size, new.size, old.root, new.root, proof):
            return fail(f"the log at size {new.size} does not extend {what}")
        return ConsistencyReport(
            True, old.size, new.size, f"size {new.size} extends {what} at size {old.size}"
        )
    assert isinstance(old_note, str)
    result = verify_checkpoint_consistency(old_note, new_note, proof, verifier_keys)
    return ConsistencyReport(result.ok, old.size, new.size, result.reason)
