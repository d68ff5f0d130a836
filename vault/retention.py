"""Retention and holds: which clips are due for shredding, which are held, and why.

Pure: clips, holds and request scopes go in as values, verdicts come out; the
caller (``vault.service.retention``) reads the catalog and does the shredding.

The rules (docs/retention.md):

* A clip is **due** once ``captured_at + retention_days`` has passed; a camera
  with ``retention_days = 0`` keeps its clips forever.
* A **manual hold** covers one camera from ``scope_from`` to ``scope_to``
  (both inclusive) until it is released or its ``until`` passes.
* A **request** covers its cameras from ``scope_from`` to ``scope_to`` (both
  inclusive, as its scope is) while it is pending, approved or partly
  approved and not exported. Once it is refused, expired or withdrawn (at its
  ``updated_at``) or exported (at its latest export) it keeps holding for
  *grace* more: long enough to appeal a refusal or to ask for a lost export
  again.
* Nothing held is ever due for deletion; shredded clips are ignored.

A deletion record is canonical JSON signed with the device key (the daemon
holds no owner key); :func:`sign_record` and :func:`verify_record` are the
two halves of that.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from vault import signed
from vault.audit.note import NoteError, NoteSigner, parse_verifier_key
from vault.errors import IntegrityError
from vault.requests import FINAL, Status
from vault.timeutil import iso

RECORD_VERSION = "ringfence-deletion/1"
#: Domain separation: a deletion record signature can never pass as a receipt's.
RECORD_CONTEXT = b"ringfence-deletion/1\n"

RETENTION = "retention"
DISK_PRESSURE = "disk_pressure"
OWNER = "owner"


@dataclass(frozen=True)
class ClipFacts:
    id: str
    camera: str
    captured_at: datetime
    retention_days: int  # the camera's; 0 keeps clips forever
    payload_size: int = 0
    shredded: bool = False


@dataclass(frozen=True)
class ManualHold:
    id: str
    camera: str
    scope_from: datetime
    scope_to: datetime
    reason: str
    until: datetime | None = None  # None: until released
    released_at: datetime | None = None

    def covers(self, clip: ClipFacts) -> bool:
        return clip.camera == self.camera and self.scope_from <= clip.captured_at <= self.scope_to

    def holding(self, now: datetime) -> bool:
        return self.released_at is None and (self.until is None or self.until > now)


@dataclass(frozen=True)
class RequestScope:
    id: str
    status: str
    cameras: frozenset[str]
    scope_from: datetime
    scope_to: datetime
    updated_at: datetime  # when a final state was reached, for final states
    exported_at: datetime | None = None  # the latest export
    label: str = ""  # who asks, for messages

    def covers(self, clip: ClipFacts) -> bool:
        return clip.camera in self.cameras and self.scope_from <= clip.captured_at <= self.scope_to

    def hold_ends(self, grace: timedelta) -> datetime | None:
        """When the request stops holding its scope; None while it is open and not exported."""
        try:
            final = Status(self.status) in FINAL
        except ValueError:
            return None  # a state this code does not know: hold, to be safe
        if final:
            return self.updated_at + grace
        if self.exported_at is not None:
            return self.exported_at + grace
        return None

    def holding(self, now: datetime, grace: timedelta) -> bool:
        end = self.hold_ends(grace)
        return end is None or end > now


@dataclass(frozen=True)
class HoldReason:
    """One thing that keeps a clip: a manual hold or a request."""

    kind: str  # "hold" | "request"
    id: str
    reason: str
    until: datetime | None  # None: until released (hold), while open (request)

    def describe(self) -> str:
        end = (
            f"until {iso(self.until)}"
            if self.until
            else (
                "until released"
                if self.kind == "hold"
                # An open request: pending, or approved and not yet exported.
                else "while it is open (until refused, withdrawn, expired or exported, "
                "and a grace period after)"
            )
        )
        return f"{self.kind} {self.id} ({self.reason}) {end}"

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "reason": self.reason, "until": iso(self.until)}


@dataclass(frozen=True)
class Verdict:
    clip: ClipFacts
    expires_at: datetime | None  # None: kept forever
    due: bool
    held_by: tuple[HoldReason, ...]

    @property
    def deletable(self) -> bool:
        return self.due and not self.held_by

    def why(self) -> str:
        """Why retention deletes this clip, in words for the deletion record."""
        days = self.clip.retention_days
        return (
            f"camera {self.clip.camera} keeps clips {days} day(s); "
            f"this one expired at {iso(self.expires_at)}"
        )


def expires_at(clip: ClipFacts) -> datetime | None:
    if clip.retention_days <= 0:
        return None
    try:
        return clip.captured_at + timedelta(days=clip.retention_days)
    except OverflowError:
        return None  # beyond the calendar (a hand-edited catalog): never


def holds_for(
    clip: ClipFacts,
    holds: Iterable[ManualHold],
    requests: Iterable[RequestScope],
    now: datetime,
    grace: timedelta,
) -> tuple[HoldReason, ...]:
    """Every hold and request that keeps *clip* at *now*."""
    out = [
        HoldReason("hold", h.id, h.reason, h.until)
        for h in holds
        if h.covers(clip) and h.holding(now)
    ]
    out += [
        HoldReason("request", r.id, r.label or r.status, r.hold_ends(grace))
        for r in requests
        if r.covers(clip) and r.holding(now, grace)
    ]
    return tuple(out)


def judge(
    clips: Iterable[ClipFacts],
    holds: Sequence[ManualHold],
    requests: Sequence[RequestScope],
    now: datetime,
    grace: timedelta,
) -> list[Verdict]:
    """A verdict for every clip not yet shredded, in the order given."""
    out = []
    for clip in clips:
        if clip.shredded:
            continue
        end = expires_at(clip)
        out.append(
            Verdict(
                clip,
                end,
                end is not None and end <= now,
                holds_for(clip, holds, requests, now, grace),
            )
        )
    return out


def pressure_victims(verdicts: Iterable[Verdict], need_bytes: int) -> list[Verdict]:
    """Oldest unheld clips first until their payloads add up to *need_bytes*.

    Used only when the owner opted in to ``shred_on_pressure``; it takes
    clips whose retention has not run out yet (that is the point), never a
    held one.
    """
    chosen: list[Verdict] = []
    freed = 0
    for v in sorted(verdicts, key=lambda v: (v.clip.captured_at, v.clip.id)):
        if freed >= need_bytes:
            break
        if v.held_by:
            continue
        chosen.append(v)
        freed += v.clip.payload_size
    return chosen


# --- deletion records ---------------------------------------------------------------


def sign_record(body: dict[str, Any], signer: NoteSigner) -> dict[str, Any]:
    """*body* with a ``signature`` over ``RECORD_CONTEXT ‖ canonical JSON`` (vault.signed),
    naming the device's verifier key."""
    if "signature" in body:
        raise ValueError("the record is already signed")
    return signed.sign(
        body, signer.private_key, context=RECORD_CONTEXT, note_key=signer.verifier_key()
    )


def verify_record(record: dict[str, Any], verifier_key: str) -> None:
    """Check a deletion record's signature against the device's verifier key.

    IntegrityError when the record is not signed by that key or was altered.
    """
    what = "the deletion record"
    try:
        key = parse_verifier_key(verifier_key)
    except NoteError:
        raise IntegrityError(f"{what}'s signature block is malformed") from None
    signed.verify(
        record, context=RECORD_CONTEXT, what=what, public_key=key.public_key, note_key=key.encode()
    )
