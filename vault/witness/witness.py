"""The witness's decision on one add-checkpoint request (c2sp.org/tlog-witness).

The checks run in the spec's order, each refusal with its status:

1. the body parses (400), and the old size is not above the checkpoint's (400);
2. the checkpoint's origin is a log this witness trusts (404);
3. a signature by one of that log's trusted keys verifies, and none by a
   trusted key fails (403);
4. under the database's write lock: the old size is the size last cosigned
   (409, answering that size); at equal sizes the roots are equal (409);
5. the consistency proof takes the root last cosigned to the new root (422);
6. the new size and root are stored, then the checkpoint is cosigned (200).

A signed request that fails 4 or 5 is kept as evidence: a trusted key signed
a tree that does not extend what this witness saw, which is what a forked or
rewritten log looks like.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from vault.audit.merkle import verify_consistency
from vault.audit.note import NoteError, open_note
from vault.timeutil import utc_now
from vault.witness.cosignature import Cosignature
from vault.witness.errors import BadProof, BadSignature, SizeConflict, UnknownLog
from vault.witness.protocol import AddCheckpoint, parse_add_checkpoint
from vault.witness.state import WitnessState


@dataclass(frozen=True)
class Cosigning:
    """A checkpoint cosigned: its origin and size, and the cosignature."""

    origin: str
    size: int
    cosignature: Cosignature


class Witness:
    """Cosigns checkpoints that extend what it cosigned before."""

    def __init__(self, state: WitnessState, clock: Callable[[], datetime] = utc_now) -> None:
        self.state = state
        self._clock = clock

    def add_checkpoint(self, body: bytes) -> Cosigning:
        """Check the request *body*; cosign it or raise the refusal (vault.witness.errors)."""
        request = parse_add_checkpoint(body)
        cp = request.checkpoint
        keys = self.state.trusted_keys(cp.origin)
        if not keys:
            raise UnknownLog(f"this witness does not know the log {cp.origin!r}")
        try:
            open_note(request.note, keys)
        except NoteError as exc:
            raise BadSignature(f"the checkpoint of {cp.origin!r}: {exc.message}") from None
        now = self._clock()
        try:
            with self.state.record(cp.origin) as latest:
                self._check(request, latest.size, latest.root)
                latest.set(cp.size, cp.root, now)
                cosig = self.state.cosigner.cosign(cp.body(), int(now.timestamp()))
        except (SizeConflict, BadProof) as exc:
            if not (isinstance(exc, SizeConflict) and request.old_size != exc.size):
                # Not a stale client: a signed tree that contradicts what was cosigned.
                self.state.keep_evidence(cp.origin, exc.message, body, now)
            raise
        return Cosigning(cp.origin, cp.size, cosig)

    @staticmethod
    def _check(request: AddCheckpoint, size: int, root: bytes) -> None:
        cp = request.checkpoint
        if request.old_size != size:
            raise SizeConflict(
                f"the old size is {request.old_size}, but this witness last "
                f"cosigned {cp.origin!r} at size {size}",
                size,
            )
        if cp.size == size:
            if cp.root != root:
                raise SizeConflict(
                    f"the checkpoint has size {size}, which this witness "
                    f"cosigned with another root hash",
                    size,
                )
            return
        if not verify_consistency(size, cp.size, root, cp.root, list(request.proof)):
            raise BadProof(f"the consistency proof from size {size} to {cp.size} does not verify")
