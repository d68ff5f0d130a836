"""Legal holds: manual holds, and the requests that hold the clips in their scope.

A pending or approved request holds its cameras and window until it is
decided, withdrawn, lapsed or exported, plus the grace period; a manual hold
holds until it is released or its --until passes. vault.retention decides
from these facts; this module reads and writes them.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from vault import receipts
from vault.audit import events
from vault.catalog.models import Camera, Export, Hold, Request, RequestCamera
from vault.errors import IntegrityError, NotFound, PolicyError, UsageError
from vault.requests import Status
from vault.retention import ManualHold, RequestScope
from vault.service.context import VaultContext
from vault.service.keyring import Keyring
from vault.service.results import HoldInfo
from vault.timeutil import iso

MAX_REASON = 4000
HOLD_RELEASE = "ringfence-hold-release/1"
HOLD_RELEASE_CONTEXT = b"ringfence-hold-release/1\n"
log = logging.getLogger("ringfence.holds")


def parse_entry_time(text: str) -> datetime:
    """An RFC 3339 UTC time as the audit log and the receipts write it."""
    if not isinstance(text, str) or not text.endswith("Z"):
        raise ValueError(f"not a UTC time: {text!r}")
    return datetime.fromisoformat(text[:-1] + "+00:00")


def _moved(
    requests: dict[str, RequestScope], kind: Any, subject: str, d: dict[str, Any], at: datetime
) -> dict[str, RequestScope]:
    """A request's scope after one logged event about it."""
    if kind == events.EXPORT_CREATED:
        rid = d["request"]
        return {rid: replace(requests[rid], exported_at=at)}
    status = {
        events.REQUEST_DECIDED: d.get("outcome"),
        events.REQUEST_WITHDRAWN: Status.WITHDRAWN.value,
        events.REQUEST_EXPIRED: Status.EXPIRED.value,
        events.REQUEST_REOPENED: Status.PENDING.value,
    }.get(kind)
    if not isinstance(status, str):
        return {}
    old = requests[subject]
    who = old.label.split(", from ", 1)[-1]
    return {subject: replace(old, status=status, updated_at=at, label=f"{status}, from {who}")}


def reason_text(text: str | None, what: str = "--reason") -> str:
    value = (text or "").strip()
    if not value:
        raise UsageError(f"{what}: missing")
    if len(value) > MAX_REASON or any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise UsageError(f"{what}: too long or contains control characters")
    return value


class HoldService:
    """Manual holds and the requests that hold clips, as the log records them."""

    def __init__(self, ctx: VaultContext, keyring: Keyring) -> None:
        self.ctx = ctx
        self.keyring = keyring

    @property
    def grace(self) -> timedelta:
        return timedelta(days=self.ctx.config.retention_grace_days)

    def policy(self, conn: Connection) -> tuple[list[ManualHold], list[RequestScope]]:
        """What holds clips now, from the audit log, with the catalog's view added.

        The log decides: a hold released or narrowed, or a request marked
        withdrawn, by an edit of the catalog alone still holds, because the
        entries that record holds and requests are read by their bytes. What
        only the catalog knows is added on top, so neither source can make
        fewer clips held than the other says.
        """
        names: dict[int, str] = dict(conn.execute(select(Camera.id, Camera.name)).all())
        logged_holds, logged_requests = self._logged_policy(conn)
        holds = list(logged_holds.values())
        for h in conn.execute(select(Hold)):
            if h.id in logged_holds:
                if h.released_at is not None and logged_holds[h.id].released_at is None:
                    log.warning(
                        "hold %s is released in the catalog but not in the audit log: "
                        "it still holds; run `ringfence audit verify`",
                        h.id,
                    )
                continue
            if h.released_at is None:
                holds.append(
                    ManualHold(
                        h.id,
                        names[h.camera_id],
                        h.scope_from,
                        h.scope_to,
                        h.reason,
                        h.until,
                        h.released_at,
                    )
                )
        cams: dict[str, set[str]] = {}
        for rid, cid in conn.execute(select(RequestCamera.request_id, RequestCamera.camera_id)):
            cams.setdefault(rid, set()).add(names[cid])
        latest = select(Export.request_id, func.max(Export.created_at)).group_by(Export.request_id)
        exported: dict[str, datetime] = dict(conn.execute(latest).all())
        requests = list(logged_requests.values())
        requests += [
            RequestScope(
                r.id,
                r.status,
                frozenset(cams.get(r.id, ())),
                r.scope_from,
                r.scope_to,
                r.updated_at,
                exported.get(r.id),
                f"{r.status}, from {r.requester}",
            )
            for r in conn.execute(select(Request))
            if r.id not in logged_requests
        ]
        return [h for h in holds if h.released_at is None], requests

    def _signed_release(self, hold_id: str, details: dict[str, Any]) -> bool:
        """A ``hold.released`` entry counts only with the owner's signature over it:
        appending one needs no key. (Releases logged before they were signed
        hold on.)"""
        import base64

        signed = details.get("signed")
        if not isinstance(signed, dict) or signed.get("version") != HOLD_RELEASE:
            return False
        try:
            pinned = base64.b64decode(self.ctx.config.signing_public_key, validate=True)
            receipts.check_signature(
                signed, pinned, context=HOLD_RELEASE_CONTEXT, what="the hold's release"
            )
        except (IntegrityError, ValueError):
            log.warning("hold %s: its release is not signed by the owner; it still holds", hold_id)
            return False
        return bool(
            signed.get("hold") == hold_id and signed.get("vault_origin") == self.ctx.config.origin
        )

    def _logged_policy(
        self, conn: Connection
    ) -> tuple[dict[str, ManualHold], dict[str, RequestScope]]:
        """Manual holds and request scopes as the audit log records them."""
        holds: dict[str, ManualHold] = {}
        requests: dict[str, RequestScope] = {}
        # Entry times are to the microsecond, hold bounds to the second: a bound
        # read back from the log is widened by that second, never narrowed.
        second = timedelta(seconds=1)
        for _idx, e in self.ctx.audit.about(types=events.POLICY_EVENTS, conn=conn, complete=True):
            kind, subject, d = e.get("type"), e.get("subject"), e.get("details")
            if not isinstance(subject, str) or not isinstance(d, dict):
                continue
            try:
                at = parse_entry_time(e["time"])
                if kind == events.HOLD_ADDED:
                    until = d.get("until")
                    holds[subject] = ManualHold(
                        subject,
                        d["camera"],
                        parse_entry_time(d["from"]),
                        parse_entry_time(d["to"]) + second,
                        d["reason"],
                        None if until is None else parse_entry_time(until) + second,
                    )
                elif (
                    kind == events.HOLD_RELEASED
                    and subject in holds
                    and self._signed_release(subject, d)
                ):
                    holds[subject] = replace(holds[subject], released_at=at)
                elif kind == events.REQUEST_CREATED:
                    requests[subject] = RequestScope(
                        subject,
                        Status.PENDING.value,
                        frozenset(d["cameras"]),
                        parse_entry_time(d["from"]),
                        parse_entry_time(d["to"]) + second,
                        at,
                        None,
                        f"pending, from {d['requester']}",
                    )
                elif subject in requests or d.get("request") in requests:
                    requests.update(_moved(requests, kind, subject, d, at))
            except (KeyError, TypeError, ValueError):
                continue  # a malformed entry: `audit verify` names it
        return holds, requests

    # --- holds --------------------------------------------------------------------

    def add(
        self,
        camera: str,
        since: datetime,
        until: datetime,
        reason: str,
        hold_until: datetime | None = None,
    ) -> str:
        """Hold *camera*'s clips captured from *since* to *until* (inclusive)."""
        text = reason_text(reason)
        if until <= since:
            raise UsageError("--to: must be after --from")
        now = self.ctx.clock()
        if hold_until is not None and hold_until <= now:
            raise UsageError("--until: must be in the future")
        hold_id = self.ctx.new_id("hold")
        with self.ctx.engine.begin() as conn:
            cam_id = conn.execute(select(Camera.id).where(Camera.name == camera)).scalar()
            if cam_id is None:
                raise NotFound(f"no camera named {camera!r}")
            conn.execute(
                insert(Hold).values(
                    id=hold_id,
                    camera_id=cam_id,
                    scope_from=since,
                    scope_to=until,
                    reason=text,
                    until=hold_until,
                    created_at=now,
                )
            )
            self.ctx.audit.append(
                events.HOLD_ADDED,
                actor=self.ctx.actor,
                subject=hold_id,
                details={
                    "camera": camera,
                    "from": iso(since),
                    "to": iso(until),
                    "reason": text,
                    "until": iso(hold_until),
                },
                conn=conn,
            )
        self.keyring.checkpoint()
        return hold_id

    def all(self, include_released: bool = False) -> list[HoldInfo]:
        """Manual holds and the requests that hold clips now (with *include_released*,
        also released or lapsed holds and requests that no longer hold)."""
        now = self.ctx.clock()
        out: list[HoldInfo] = []
        with self.ctx.reader.connect() as conn:
            names: dict[int, str] = dict(conn.execute(select(Camera.id, Camera.name)).all())
            for h in conn.execute(select(Hold).order_by(Hold.created_at)):
                state = (
                    "released"
                    if h.released_at is not None
                    else "lapsed"
                    if h.until is not None and h.until <= now
                    else "active"
                )
                if state == "active" or include_released:
                    out.append(
                        HoldInfo(
                            "hold",
                            h.id,
                            state,
                            [names[h.camera_id]],
                            h.scope_from,
                            h.scope_to,
                            h.reason,
                            h.until,
                            h.created_at,
                            h.released_at,
                            h.release_reason,
                        )
                    )
            _holds, requests = self.policy(conn)
            created: dict[str, datetime] = dict(
                conn.execute(select(Request.id, Request.created_at)).all()
            )
        for r in sorted(requests, key=lambda r: created[r.id]):
            holding = r.holding(now, self.grace)
            if holding or include_released:
                out.append(
                    HoldInfo(
                        "request",
                        r.id,
                        "active" if holding else "ended",
                        sorted(r.cameras),
                        r.scope_from,
                        r.scope_to,
                        r.label,
                        r.hold_ends(self.grace),
                        created[r.id],
                    )
                )
        return out

    def release(self, hold_id: str, reason: str) -> HoldInfo:
        text = reason_text(reason)
        keys = self.keyring.owner_keys()  # a hold ends only by the owner's signature
        if hold_id.startswith("req_"):
            raise PolicyError(
                f"{hold_id} is a request: it stops holding when it is decided, "
                "withdrawn or exported, after the grace period"
            )
        now = self.ctx.clock()
        with self.ctx.engine.begin() as conn:
            row = conn.execute(select(Hold).where(Hold.id == hold_id)).first()
            if row is None:
                raise NotFound(f"no hold {hold_id!r}")
            if row.released_at is not None:
                raise PolicyError(f"hold {hold_id} was already released at {iso(row.released_at)}")
            conn.execute(
                update(Hold).where(Hold.id == hold_id).values(released_at=now, release_reason=text)
            )
            signed = receipts.sign(
                {
                    "version": HOLD_RELEASE,
                    "vault_origin": self.ctx.config.origin,
                    "hold": hold_id,
                    "reason": text,
                    "released_at": iso(now),
                },
                keys.signing_key,
                context=HOLD_RELEASE_CONTEXT,
            )
            self.ctx.audit.append(
                events.HOLD_RELEASED,
                actor=self.ctx.actor,
                subject=hold_id,
                details={"reason": text, "signed": signed},
                conn=conn,
            )
        self.keyring.checkpoint()
        return next(h for h in self.all(include_released=True) if h.id == hold_id)
