"""Legal holds: manual holds, and the requests that hold the clips in their scope.

A pending or approved request holds its cameras and window until it is
decided, withdrawn, lapsed or exported, plus the grace period; a manual hold
holds until it is released or its --until passes. vault.retention decides
from these facts; this module reads and writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from vault.catalog.models import Camera, Export, Hold, Request, RequestCamera
from vault.errors import NotFound, PolicyError, UsageError
from vault.ids import new_id
from vault.retention import ManualHold, RequestScope
from vault.service.requests import RequestOps
from vault.timeutil import iso

MAX_REASON = 4000


def reason_text(text: str | None, what: str = "--reason") -> str:
    value = (text or "").strip()
    if not value:
        raise UsageError(f"{what}: missing")
    if len(value) > MAX_REASON or any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise UsageError(f"{what}: too long or contains control characters")
    return value


@dataclass(frozen=True)
class HoldInfo:
    kind: str  # "hold" (manual) | "request"
    id: str
    state: str  # active | released | lapsed | ended
    cameras: list[str]
    scope_from: datetime
    scope_to: datetime
    reason: str
    until: datetime | None  # when holding ends; None: until released / decided
    created_at: datetime
    released_at: datetime | None = None
    release_reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "state": self.state,
            "cameras": self.cameras,
            "from": iso(self.scope_from),
            "to": iso(self.scope_to),
            "reason": self.reason,
            "until": iso(self.until),
            "created_at": iso(self.created_at),
            "released_at": iso(self.released_at),
            "release_reason": self.release_reason,
        }


class HoldOps(RequestOps):
    @property
    def grace(self) -> timedelta:
        return timedelta(days=self.config.retention_grace_days)

    def _policy(self, conn: Connection) -> tuple[list[ManualHold], list[RequestScope]]:
        names: dict[int, str] = dict(conn.execute(select(Camera.id, Camera.name)).all())
        holds = [
            ManualHold(
                h.id, names[h.camera_id], h.scope_from, h.scope_to, h.reason, h.until, h.released_at
            )
            for h in conn.execute(select(Hold).where(Hold.released_at.is_(None)))  # type: ignore[union-attr]
        ]
        cams: dict[str, set[str]] = {}
        for rid, cid in conn.execute(select(RequestCamera.request_id, RequestCamera.camera_id)):
            cams.setdefault(rid, set()).add(names[cid])
        latest = select(Export.request_id, func.max(Export.created_at)).group_by(Export.request_id)
        exported: dict[str, datetime] = dict(conn.execute(latest).all())
        requests = [
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
        ]
        return holds, requests

    # --- holds --------------------------------------------------------------------

    def add_hold(
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
        now = self.clock()
        if hold_until is not None and hold_until <= now:
            raise UsageError("--until: must be in the future")
        hold_id = new_id("hold")
        with self.engine.begin() as conn:
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
            self.audit.append(
                "hold.added",
                actor=self.actor,
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
        self.checkpoint()
        return hold_id

    def holds(self, include_released: bool = False) -> list[HoldInfo]:
        """Manual holds and the requests that hold clips now (with *include_released*,
        also released or lapsed holds and requests that no longer hold)."""
        now = self.clock()
        out: list[HoldInfo] = []
        with self.reader.connect() as conn:
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
            _holds, requests = self._policy(conn)
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

    def release_hold(self, hold_id: str, reason: str) -> HoldInfo:
        text = reason_text(reason)
        if hold_id.startswith("req_"):
            raise PolicyError(
                f"{hold_id} is a request: it stops holding when it is decided, "
                "withdrawn or exported, after the grace period"
            )
        now = self.clock()
        with self.engine.begin() as conn:
            row = conn.execute(select(Hold).where(Hold.id == hold_id)).first()
            if row is None:
                raise NotFound(f"no hold {hold_id!r}")
            if row.released_at is not None:
                raise PolicyError(f"hold {hold_id} was already released at {iso(row.released_at)}")
            conn.execute(
                update(Hold).where(Hold.id == hold_id).values(released_at=now, release_reason=text)
            )
            self.audit.append(
                "hold.released",
                actor=self.actor,
                subject=hold_id,
                details={"reason": text},
                conn=conn,
            )
        self.checkpoint()
        return next(h for h in self.holds(include_released=True) if h.id == hold_id)
