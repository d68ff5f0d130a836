"""The guard every release passes: may this request's approved clips leave now?

Every release of a clip (an export in plaintext, an export re-encrypted for a
requester, the owner's own viewing) goes through :meth:`ReleaseGuard.released`,
which checks that a recorded decision approved exactly that clip for exactly
that request, that the owner's signature over the decision verifies, that the
log still has the request open, and that the approval has not lapsed. This is
the only module of the service that calls the age functions that open a clip
(:meth:`ReleaseGuard.plaintext_to`, :meth:`ReleaseGuard.rewrapped_header`), and a test
keeps it so.
"""

from __future__ import annotations

import io
from typing import Any, BinaryIO, cast

from sqlalchemy import select, update
from sqlmodel import Session

from vault import age, decision, receipts
from vault.audit import events
from vault.canonical import canonical_json, parse_canonical
from vault.catalog.models import Clip, Decision, DecisionClip, Request
from vault.errors import IntegrityError, NotFound, PolicyError
from vault.hashio import HashingWriter
from vault.requests import RELEASABLE, Action, Status, transition
from vault.service.context import VaultContext
from vault.service.keyring import Keyring
from vault.service.requests import RequestService, decided_clip_facts
from vault.timeutil import iso
from vault.transform import plan as transform_plan
from vault.transform.plan import ReleasePlan


class ClipOpener:
    """Decrypts one clip with the owner's key in memory, checking its hash.

    The guard releases through it; the release planner reads with it the
    packet index of a clip it must cut, while the owner decides (nothing
    leaves the vault there: only keyframe times reach the plan).
    """

    def __init__(self, ctx: VaultContext, keyring: Keyring) -> None:
        self.ctx = ctx
        self.keyring = keyring

    def plaintext_to(
        self, clip: Any, dst: BinaryIO, payload: BinaryIO | None = None
    ) -> tuple[int, str]:
        """Decrypt *clip* into *dst*; the size and SHA-256 written (equal to the
        clip's, or IntegrityError). *payload*: its stored payload, already open."""
        keys = self.keyring.owner_keys()
        sink = HashingWriter(dst)
        file_key = age.unwrap_file_key(bytes(clip.header), [keys.identity])
        if payload is None:
            with self.ctx.store.open(clip.id) as own:
                age.decrypt_payload(file_key, own, cast(BinaryIO, sink))
        else:
            age.decrypt_payload(file_key, payload, cast(BinaryIO, sink))
        digest = sink.sha256.hexdigest()
        if sink.count != clip.size or digest != clip.sha256:
            raise IntegrityError(f"clip {clip.id} decrypted to bytes that differ from its hash")
        return sink.count, digest

    def in_memory(self, clip: Any, max_bytes: int) -> bytes:
        """The plaintext of *clip* in memory (PolicyError above *max_bytes*)."""
        if clip.size > max_bytes:
            raise PolicyError(f"clip {clip.id} is too large to read in memory")
        buf = io.BytesIO()
        self.plaintext_to(clip, buf)
        return buf.getvalue()


class ReleaseGuard:
    """Decides whether anything may leave, and opens only what it allowed.

    *requests* lapses what is due and checks the owner's signature on a
    decision; *keyring* holds the key that opens the clips.
    """

    def __init__(self, ctx: VaultContext, keyring: Keyring, requests: RequestService) -> None:
        self.ctx = ctx
        self.keyring = keyring
        self.requests = requests
        self.opener = ClipOpener(ctx, keyring)

    def releasable(self, conn: Any, request_id: str) -> tuple[Any, Any]:
        """The request and its approving decision, if it may release clips now.

        Raises PolicyError (or IllegalTransition) otherwise. Asked again before
        each clip and inside the export's final transaction, so a withdrawal
        or an expiry during a long export stops it.
        """
        req = conn.execute(select(Request).where(Request.id == request_id)).first()
        if req is None:
            raise NotFound(f"no request {request_id!r}")
        if Status(req.status) not in RELEASABLE:
            # transition() names the state in its message.
            transition(req.status, Action.EXPORT)
        dec = conn.execute(select(Decision).where(Decision.request_id == request_id)).first()
        if dec is None or dec.outcome not in RELEASABLE:
            raise PolicyError(f"request {request_id} has no approving decision")
        if dec.expires_at is not None and dec.expires_at <= self.ctx.clock():
            raise PolicyError(f"the approval of {request_id} expired at {iso(dec.expires_at)}")
        return req, dec

    def still_releasable(self, request_id: str) -> None:
        with self.ctx.reader.connect() as conn:
            self.releasable(conn, request_id)

    def released(self, request_id: str) -> tuple[Any, list[Any], ReleasePlan]:
        """The request, the clip rows it may release now and the release plan
        the owner signed for them; PolicyError (or IntegrityError) otherwise."""
        self.requests.lapse_due()
        with self.ctx.reader.connect() as conn:
            req, dec = self.releasable(conn, request_id)
        with Session(self.ctx.reader) as session:
            rows = session.execute(
                select(Clip, DecisionClip.sha256)
                .join(DecisionClip, DecisionClip.clip_id == Clip.id)
                .where(DecisionClip.decision_id == dec.id)
                .order_by(Clip.captured_at, Clip.id)
            ).all()
        self._check_signed_decision(request_id, dec, {c.id: sha for c, sha in rows})
        self._check_still_open_in_log(request_id)
        clips = []
        for clip, approved_sha in rows:
            if clip.header is None:
                raise PolicyError(f"clip {clip.id} was shredded after the decision")
            if clip.sha256 != approved_sha:
                raise IntegrityError(f"clip {clip.id} no longer matches the approved hash")
            clips.append(clip)
        return req, clips, self._signed_plan(request_id, dec, [c.id for c in clips])

    def _signed_plan(self, request_id: str, dec: Any, clip_ids: list[str]) -> ReleasePlan:
        """The release plan under the owner's signature (checked with the key in
        memory), never the catalog's copy: what an export applies is what was
        signed. A decision signed before plans existed releases whole clips."""
        public = receipts.raw_public(self.keyring.owner_keys().signing_key.public_key())
        try:
            entry = parse_canonical(self.ctx.audit.entry(dec.audit_index))
            facts = decision.verify(entry["details"]["signed"], public)
            raw = facts["decision"].get("release")
        except (KeyError, TypeError, AttributeError):
            raise IntegrityError(
                f"the decision on {request_id} has no readable signed facts; nothing was released"
            ) from None
        signed = transform_plan.whole(clip_ids) if raw is None else transform_plan.parse(raw)
        if sorted(c.clip for c in signed.clips) != sorted(clip_ids):
            raise IntegrityError(
                f"the signed release plan of {request_id} names other clips "
                "than the decision; nothing was released"
            )
        return signed

    def _check_signed_decision(self, request_id: str, dec: Any, approved: dict[str, str]) -> None:
        """The decision carries the owner's valid signature over the catalog's facts,
        or IntegrityError and nothing is released.

        Catalog rows and audit entries can be written without the passphrase;
        the signature, made inside the decision's own transaction, cannot. It is
        checked with the key in memory, and every fact the release depends on
        (requester, basis, scope, recipient, outcome, expiry, the clips and
        their hashes) must equal what was signed. Nothing here signs anything
        before that check has passed.
        """
        problem = self.requests.decision_problem(request_id)
        if problem is None and approved != {c: s for c, s in self._signed_clips(dec)}:
            problem = "the catalog's approved clips differ from the signed ones"
        if problem is not None:
            raise IntegrityError(
                f"the decision on {request_id} does not carry the owner's valid signature "
                f"({problem}); nothing was released. If you did not change it, run "
                f"`ringfence audit verify`; to decide again, "
                + decision.RESIGN_HINT.format(id=request_id)
            )
        if not dec.receipt:
            # The vault stopped between recording the decision and storing its
            # receipt: the facts are verified above, so the receipt may be signed.
            self._store_decision_receipt(request_id, dec.id)

    def _signed_clips(self, dec: Any) -> list[tuple[str, str]]:
        with self.ctx.reader.connect() as conn:
            return [(c["id"], c["sha256"]) for c in decided_clip_facts(conn, dec.id)]

    def _check_still_open_in_log(self, request_id: str) -> None:
        """The log, not only the catalog's status column, has the request still open.

        A request withdrawn or expired is logged so; a status turned back to
        approved in the catalog does not undo that entry, and neither does a
        renamed ``type`` column: the entries are found and read by their bytes.
        """
        for idx, entry in self.ctx.audit.about(
            subject=request_id,
            types=(events.REQUEST_WITHDRAWN, events.REQUEST_EXPIRED),
            complete=True,
        ):
            raise IntegrityError(
                f"audit entry {idx} records request {request_id} as {entry['type']}, "
                "though the catalog says it may be released; nothing was released. "
                "Run `ringfence audit verify`."
            )

    def _store_decision_receipt(self, request_id: str, decision_id: str) -> None:
        """Sign and store the receipt a decision lost when the vault stopped."""
        from vault.service.receipts_build import decision_receipt

        receipt = decision_receipt(
            self.requests.receipt_source(),
            request_id,
            self.keyring.checkpoint_with_owner(),
            self.keyring.owner_keys(),
        )
        with self.ctx.engine.begin() as conn:
            conn.execute(
                update(Decision)
                .where(Decision.id == decision_id)
                .values(receipt=canonical_json(receipt).decode())
            )

    def plaintext_to(
        self, clip: Any, dst: BinaryIO, payload: BinaryIO | None = None
    ) -> tuple[int, str]:
        """Decrypt one approved clip into *dst*, checking its plaintext hash.

        Returns the size and SHA-256 written (equal to the clip's, or it raises).
        *payload*: the clip's stored payload, already open (read from its start).
        """
        return self.opener.plaintext_to(clip, dst, payload)

    def rewrapped_header(self, clip: Any, recipient: str) -> bytes:
        """The header of one approved clip, rewrapped to *recipient*; its payload
        still has to be checked against the signed plaintext hash as it leaves."""
        return age.rewrap(bytes(clip.header), self.keyring.owner_keys().identity, [recipient])
