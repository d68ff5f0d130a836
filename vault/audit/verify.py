"""Offline verification of audit proofs: no vault, no catalog, only public keys.

A requester holding a receipt runs :func:`verify_entry_inclusion` on each audit
entry it cites: the checkpoint must carry a valid signature from a trusted key,
and SHA-256(0x00 || entry) must sit at the claimed index under the checkpoint's
root. Someone who kept an older checkpoint uses
:func:`verify_checkpoint_consistency` to check that a newer one extends it, so a
log that was cut and re-signed is caught.

Both functions answer with a :class:`VerificationResult` and never raise for
bad input: a verifier that crashes on hostile data is a verifier that can be
switched off.

The vault's own full check of its log is vault.audit.auditor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vault.audit import merkle
from vault.audit.note import Checkpoint, VerifierKey, open_checkpoint, parse_verifier_key
from vault.audit.proof import parse_inclusion_proof
from vault.errors import IntegrityError


@dataclass(frozen=True)
class VerificationResult:
    """Yes or no, and why."""

    ok: bool
    reason: str
    index: int | None = None
    size: int | None = None
    signers: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.ok


def _keys(verifier_keys: Sequence[str | VerifierKey]) -> list[VerifierKey]:
    return [k if isinstance(k, VerifierKey) else parse_verifier_key(k) for k in verifier_keys]


def _open(
    note: str, keys: list[VerifierKey], required_signer: str | None, what: str
) -> tuple[Checkpoint, list[str]]:
    cp, names = open_checkpoint(note, keys)
    if required_signer is not None and required_signer not in names:
        raise IntegrityError(f"{what} is not signed by {required_signer}")
    return cp, names


def verify_entry_inclusion(
    entry: bytes,
    proof_text: str,
    verifier_keys: Sequence[str | VerifierKey],
    required_signer: str | None = None,
    *,
    origin: str | None = None,
) -> VerificationResult:
    """Is *entry* (the exact logged bytes) in the log whose checkpoint *proof_text* carries?

    *required_signer*, when given, is a key name whose signature must be among
    the verified ones (e.g. the owner's, not only the device's). *origin*, when
    given, is the log the verifier expects: the checkpoint's origin line must
    be exactly it (tlog-proof verifies against the log's origin and trusted
    keys), or a checkpoint of another log signed by the same key would pass.
    Every verifier that knows which log it is checking passes it.
    """
    try:
        if not isinstance(entry, bytes):
            return VerificationResult(False, "the entry must be bytes")
        keys = _keys(verifier_keys)
        if not keys:
            return VerificationResult(False, "no trusted verifier key was given")
        proof = parse_inclusion_proof(proof_text)
        cp, names = _open(proof.checkpoint, keys, required_signer, "the checkpoint")
    except IntegrityError as exc:
        return VerificationResult(False, exc.message)
    except Exception as exc:  # a verifier never crashes on hostile input
        return VerificationResult(False, f"unreadable proof ({type(exc).__name__})")
    if origin is not None and cp.origin != origin:
        return VerificationResult(
            False,
            f"the checkpoint is of another log ({cp.origin!r}, not {origin!r})",
            proof.index,
            cp.size,
            tuple(names),
        )
    if proof.index >= cp.size:
        return VerificationResult(
            False,
            f"index {proof.index} is beyond the checkpoint's {cp.size} entries",
            proof.index,
            cp.size,
            tuple(names),
        )
    if not merkle.verify_inclusion(
        merkle.leaf_hash(entry), proof.index, cp.size, list(proof.hashes), cp.root
    ):
        return VerificationResult(
            False,
            f"entry {proof.index} is not included in the "
            f"checkpoint of size {cp.size} (proof does not match the root)",
            proof.index,
            cp.size,
            tuple(names),
        )
    return VerificationResult(
        True,
        f"entry {proof.index} is in {cp.origin} at size {cp.size}, signed by {', '.join(names)}",
        proof.index,
        cp.size,
        tuple(names),
    )


def verify_checkpoint_consistency(
    old_note: str,
    new_note: str,
    proof_hashes: Sequence[bytes],
    verifier_keys: Sequence[str | VerifierKey],
) -> VerificationResult:
    """Does the log in *new_note* extend the one in *old_note* (same origin, append-only)?"""
    try:
        keys = _keys(verifier_keys)
        if not keys:
            return VerificationResult(False, "no trusted verifier key was given")
        old, _ = _open(old_note, keys, None, "the older checkpoint")
        new, names = _open(new_note, keys, None, "the newer checkpoint")
        hashes = list(proof_hashes)
    except IntegrityError as exc:
        return VerificationResult(False, exc.message)
    except Exception as exc:  # a verifier never crashes on hostile input
        return VerificationResult(False, f"unreadable checkpoint ({type(exc).__name__})")
    if old.origin != new.origin:
        return VerificationResult(
            False, f"the checkpoints are of different logs ({old.origin!r} and {new.origin!r})"
        )
    if old.size == 0 and new.size > 0:
        # The empty tree is a prefix of every tree, so a "proof" from it is
        # vacuous: it would say yes for any log at all. Refused, as the
        # common log verifiers refuse it, rather than reported as a check.
        return VerificationResult(
            False,
            "the older checkpoint is of the empty log: a "
            "consistency proof from an empty tree proves nothing",
            size=new.size,
            signers=tuple(names),
        )
    if new.size < old.size:
        return VerificationResult(
            False,
            f"the newer checkpoint ({new.size} entries) is smaller "
            f"than the older one ({old.size}): the log was cut",
            size=new.size,
            signers=tuple(names),
        )
    if not merkle.verify_consistency(old.size, new.size, old.root, new.root, hashes):
        return VerificationResult(
            False,
            f"the log at size {new.size} does not extend the "
            f"checkpoint at size {old.size}: history was rewritten",
            size=new.size,
            signers=tuple(names),
        )
    return VerificationResult(
        True, f"size {new.size} extends size {old.size}", size=new.size, signers=tuple(names)
    )
