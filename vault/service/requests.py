"""Requests for footage: intake, listing, withdrawal, lapse, and decisions.

A decision is signed: approving or refusing needs the owner unlocked. The
decision row, the clips it releases and its audit entry commit together; the
owner then signs a checkpoint covering that entry and a receipt that carries
its inclusion proof.
"""

from __future__ import annotations

import contextlib
import json
import tomllib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlmodel import col

from vault import age, decision, receipts
from vault.audit import events
from vault.canonical import canonical_json, parse_canonical
from vault.catalog.models import (
    Attachment,
    Camera,
    Clip,
    Decision,
    DecisionClip,
    Export,
    Request,
    RequestCamera,
)
from vault.errors import (
    AgeError,
    IntegrityError,
    NotFound,
    PolicyError,
    RingfenceError,
    UsageError,
)
from vault.fsutil import read_regular
from vault.hashio import seal_stream
from vault.ingest.policy import display_name
from vault.requests import (
    OUTCOME,
    RELEASABLE,
    Action,
    Basis,
    Kind,
    Status,
    parse_choice,
    transition,
)
from vault.safetext import shown, text_problem
from vault.service.clips import clip_query, row_to_info
from vault.service.context import VaultContext
from vault.service.keyring import Keyring
from vault.service.results import ClipInfo, DecisionResult, RequestInfo
from vault.timeutil import as_utc, iso, parse_end_time, parse_time
from vault.transform import plan as transform_plan
from vault.transform.plan import Choices, ReleasePlan

if TYPE_CHECKING:
    from vault.service.release_plan import ReleasePlanner

MAX_TEXT = 4000
#: A request file is a handful of short fields: anything bigger is not one.
MAX_REQUEST_FILE = 1 << 20
#: A request nests two levels (the document, a list of cameras); leave room.
MAX_DEPTH = 16

REQUEST_FIELDS = {
    "requester": True,
    "organisation": True,
    "kind": True,
    "basis": True,
    "reason": True,
    "cameras": True,
    "from": True,
    "to": True,
    "reference": False,
    "contact": False,
    "deadline": False,
    "recipient": False,
    "attachments": False,
}


def _text(value: Any, name: str, *, required: bool, one_line: bool = False) -> str | None:
    """A request or decision text field, checked (docs/requests.md, field rules).

    The text is hostile: it ends up in receipts, terminals and the TUI. A
    one-line field (requester, organisation, reference, contact) takes no
    line break, tab, control or bidi character; a multi-line field (a reason,
    terms) takes newlines and tabs besides.
    """
    if value is None or value == "":
        if required:
            raise UsageError(f"{name}: missing")
        return None
    if not isinstance(value, str):
        raise UsageError(f"{name}: must be text")
    if len(value) > MAX_TEXT:
        raise UsageError(f"{name}: longer than {MAX_TEXT} characters")
    problem = text_problem(value, multi_line=not one_line)
    if problem:
        raise UsageError(f"{name}: {problem}")
    return value.strip() or None if not required else value.strip()


def _too_deep(text: str) -> bool:
    """Whether brackets nest deeper than MAX_DEPTH anywhere in *text*.

    Counted on the raw text, before any parser recurses (a deep document made
    the parser raise RecursionError): a bracket inside a string counts too,
    which can only refuse a document, never let a deep one through.
    """
    depth = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif ch in "]}":
            depth = max(depth - 1, 0)
    return False


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for key, value in pairs:
        if key in doc:
            raise ValueError(f"the key {key!r} is given twice")
        doc[key] = value
    return doc


def _beside(request_file: Path, name: Any) -> Any:
    """An attachment named in a request file: a path inside that file's folder.

    A request file comes from outside (a requester's form); it may not reach
    for files elsewhere on the owner's machine.
    """
    if not isinstance(name, str):
        return name  # add_request names the problem
    folder = request_file.parent.resolve()
    target = (folder / name).resolve()
    if Path(name).is_absolute() or not target.is_relative_to(folder):
        raise UsageError(f"attachments: {name!r} must be a path inside the request file's folder")
    return str(target)


def _time(value: Any, name: str, *, end: bool = False) -> datetime:
    """A request's time; with *end*, a date alone is the last moment of that day."""
    if isinstance(value, datetime):
        try:
            return as_utc(value)
        except (ValueError, OverflowError):
            raise UsageError(f"{name}: out of the range of times ringfence keeps") from None
    if not isinstance(value, str):
        raise UsageError(f"{name}: must be an ISO 8601 time")
    return parse_end_time(value, name, inclusive=True) if end else parse_time(value, name)


def filed_facts(info: RequestInfo) -> dict[str, Any]:
    """What a request asks, as its ``request.created`` entry records it.

    Everything a decision depends on is here, the delivery recipient included,
    so that the owner's decision and the export can check the catalog against
    what was filed.
    """
    return {
        "requester": info.requester,
        "organisation": info.organisation,
        "kind": info.kind,
        "basis": info.basis,
        "reference": info.reference,
        "contact": info.contact,
        "reason": info.reason,
        "cameras": sorted(info.cameras),
        "from": iso(info.scope_from),
        "to": iso(info.scope_to),
        "deadline": iso(info.deadline),
        "recipient": info.recipient,
        "attachments": [{"name": a["name"], "sha256": a["sha256"]} for a in info.attachments],
    }


def decided_clip_facts(conn: Connection, decision_id: str) -> list[dict[str, Any]]:
    """The clips a decision releases, as the decision and its receipts name them."""
    rows = conn.execute(
        select(DecisionClip)
        .where(DecisionClip.decision_id == decision_id)
        .order_by(DecisionClip.captured_at, DecisionClip.clip_id)
    ).all()
    return [
        {
            "id": r.clip_id,
            "camera": r.camera,
            "captured_at": iso(r.captured_at),
            "size": r.size,
            "sha256": r.sha256,
        }
        for r in rows
    ]


#: How long before a window a clip may start and still be in its scope.
MAX_CLIP_SPAN = timedelta(days=1)
_JD_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _release_facts(text: str) -> Any:
    """The catalog's release plan as facts to compare with the signed ones; a
    damaged copy is compared as its raw text (and so differs)."""
    try:
        return parse_canonical(text.encode())
    except IntegrityError:
        return text


class RequestService:
    """Requests for footage: filing, reading, lapsing, withdrawing, deciding."""

    def __init__(
        self, ctx: VaultContext, keyring: Keyring, planner: ReleasePlanner | None = None
    ) -> None:
        self.ctx = ctx
        self.keyring = keyring
        #: Plans what each approved clip becomes (None: whole clips, as before).
        self.planner = planner

    # --- intake ---------------------------------------------------------------

    def add(self, fields: dict[str, Any]) -> str:
        """File a request. *fields* uses the names of docs/requests.md.

        Everything is validated before anything is stored; attachments are
        sealed to the owner like clips.
        """
        unknown = sorted(set(fields) - set(REQUEST_FIELDS))
        if unknown:
            raise UsageError(f"{unknown[0]}: unknown field")
        clean: dict[str, Any] = {}
        for name in ("requester", "organisation", "reason"):
            clean[name] = _text(fields.get(name), name, required=True, one_line=name != "reason")
        for name in ("reference", "contact"):
            clean[name] = _text(fields.get(name), name, required=False, one_line=True)
        clean["kind"] = parse_choice(Kind, str(fields.get("kind") or ""), "kind")
        clean["basis"] = parse_choice(Basis, str(fields.get("basis") or ""), "basis")
        cameras = fields.get("cameras")
        if isinstance(cameras, str):
            cameras = [cameras]
        if (
            not cameras
            or not isinstance(cameras, list)
            or not all(isinstance(c, str) for c in cameras)
        ):
            raise UsageError("cameras: give at least one camera name")
        clean["from"] = _time(fields.get("from"), "from")
        clean["to"] = _time(fields.get("to"), "to", end=True)
        if clean["to"] <= clean["from"]:
            raise UsageError("to: must be after from")
        clean["deadline"] = (
            _time(fields["deadline"], "deadline") if fields.get("deadline") else None
        )
        if clean["deadline"] is not None and clean["deadline"] <= self.ctx.clock():
            raise UsageError("deadline: already passed")
        recipient = fields.get("recipient")
        if recipient:
            try:
                recipient = str(age.parse_recipient(str(recipient)))
            except AgeError:
                raise UsageError("recipient: not an age recipient (age1…)") from None
        attachments = fields.get("attachments") or []
        if isinstance(attachments, str | Path):
            attachments = [attachments]
        paths = []
        if not isinstance(attachments, list):
            raise UsageError("attachments: must be a list of file paths")
        for a in attachments:
            if not isinstance(a, str | Path):
                raise UsageError("attachments: each must be a file path (text)")
            p = Path(a)
            if not p.exists():
                raise NotFound(f"attachments: {a}: no such file")
            if not p.is_file():
                raise UsageError(f"attachments: {a} is not a readable file")
            paths.append(p)
        with self.ctx.reader.connect() as conn:
            cam_ids = []
            for name in dict.fromkeys(cameras):
                cid = conn.execute(select(Camera.id).where(Camera.name == name)).scalar()
                if cid is None:
                    raise NotFound(f"cameras: no camera named {name!r}")
                cam_ids.append((name, int(cid)))

        request_id = self.ctx.new_id("request")
        now = self.ctx.clock()
        sealed = [self._seal_attachment(p) for p in paths]
        try:
            with self.ctx.engine.begin() as conn:
                conn.execute(
                    insert(Request).values(
                        id=request_id,
                        created_at=now,
                        updated_at=now,
                        status=Status.PENDING.value,
                        requester=clean["requester"],
                        organisation=clean["organisation"],
                        kind=clean["kind"],
                        contact=clean["contact"],
                        basis=clean["basis"],
                        reference=clean["reference"],
                        reason=clean["reason"],
                        scope_from=clean["from"],
                        scope_to=clean["to"],
                        deadline=clean["deadline"],
                        recipient=recipient or None,
                    )
                )
                for _name, cid in cam_ids:
                    conn.execute(insert(RequestCamera).values(request_id=request_id, camera_id=cid))
                for att in sealed:
                    conn.execute(
                        insert(Attachment).values(request_id=request_id, added_at=now, **att)
                    )
                self.ctx.audit.append(
                    events.REQUEST_CREATED,
                    actor=self.ctx.actor,
                    subject=request_id,
                    details=filed_facts(self._request_info(conn, request_id)),
                    conn=conn,
                )
        except BaseException:
            for att in sealed:
                with contextlib.suppress(RingfenceError):
                    self.ctx.store.delete(att["id"])
            raise
        self.keyring.checkpoint()
        return request_id

    def _seal_attachment(self, path: Path) -> dict[str, Any]:
        att_id = self.ctx.new_id("attachment")
        with open(path, "rb") as src, self.ctx.store.writer(att_id) as blob:
            sealing = seal_stream(src, blob, self.ctx.config.recipients)
            blob.commit()
        return {
            "id": att_id,
            "name": display_name(path.name),
            "size": sealing.size,
            "sha256": sealing.sha256,
            "payload_sha256": sealing.payload_sha256,
            "header": sealing.header,
        }

    def import_file(self, path: Path) -> str:
        """File the request in a JSON or TOML file (docs/requests.md).

        The file comes from outside: only a regular file of at most
        MAX_REQUEST_FILE bytes is read, and a document nested deeper than a
        request ever is, or with a key given twice, is refused.
        """
        where = shown(path)
        try:
            data = read_regular(path, MAX_REQUEST_FILE, follow_symlinks=True)
        except FileNotFoundError:
            raise NotFound(f"{where}: no such file") from None
        except OSError as exc:
            raise UsageError(f"cannot read {where}: {exc.strerror}") from None
        toml = path.suffix.lower() == ".toml"
        kind = shown(path.suffix.lstrip(".")) or "JSON"
        try:
            text = data.decode("utf-8")
            if _too_deep(text):
                raise UsageError(f"{where}: nested deeper than {MAX_DEPTH} levels")
            doc = (
                tomllib.loads(text)
                if toml
                else json.loads(text, object_pairs_hook=_no_duplicate_keys)
            )
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            why = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else shown(str(exc))
            raise UsageError(f"{where}: not valid {kind}: {why}") from None
        if not isinstance(doc, dict):
            raise UsageError(f"{where}: the top level must be an object/table")
        attachments = doc.get("attachments")
        if isinstance(attachments, str):
            attachments = [attachments]  # one file may be named without a list
        if isinstance(attachments, list):
            doc["attachments"] = [_beside(path, a) for a in attachments]
        return self.add(doc)

    # --- reading ----------------------------------------------------------------

    def _due_query(self, now: datetime) -> Any:
        """Open requests whose deadline (pending) or approval expiry has passed."""
        from sqlalchemy import and_, or_

        return (
            select(Request.id, Request.status, Request.deadline, Decision.expires_at)
            .outerjoin(Decision, Decision.request_id == Request.id)
            .where(
                or_(
                    and_(Request.status == Status.PENDING.value, col(Request.deadline) <= now),
                    and_(
                        col(Request.status).in_(sorted(s.value for s in RELEASABLE)),
                        col(Decision.expires_at) <= now,
                    ),
                )
            )
        )

    def lapse_due(self) -> list[str]:
        """Expire pending requests past their deadline and approvals past their expiry.

        Called before every read of requests, so it first looks with a
        snapshot read and takes the write lock only when something is due.
        """
        now = self.ctx.clock()
        with self.ctx.reader.connect() as conn:
            if conn.execute(self._due_query(now).limit(1)).first() is None:
                return []
        lapsed: list[str] = []
        with self.ctx.engine.begin() as conn:
            rows = conn.execute(self._due_query(now)).all()
            for rid, status, deadline, expires in rows:
                due = deadline if status == Status.PENDING else expires
                new = transition(status, Action.LAPSE)
                conn.execute(
                    update(Request)
                    .where(Request.id == rid)
                    .values(status=new.value, updated_at=now)
                )
                self.ctx.audit.append(
                    events.REQUEST_EXPIRED,
                    actor="vault",
                    subject=rid,
                    details={"was": status, "due": iso(due)},
                    conn=conn,
                )
                lapsed.append(rid)
        if lapsed:
            self.keyring.checkpoint()
        return lapsed

    def all(
        self, status: str | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[RequestInfo]:
        """Requests, pending first, urgent before the rest, then by deadline and age."""
        self.lapse_due()
        if status is not None:
            status = parse_choice(Status, status, "--status")
        q = select(Request)
        if status is not None:
            q = q.where(Request.status == status)
        from sqlalchemy import case

        q = q.order_by(
            case((Request.status == Status.PENDING.value, 0), else_=1),
            case((Request.basis == Basis.EMERGENCY.value, 0), else_=1),
            Request.deadline.is_(None),  # type: ignore[union-attr]
            Request.deadline,
            Request.created_at.desc(),  # type: ignore[attr-defined]
        ).offset(offset)
        if limit is not None:
            q = q.limit(limit)
        with self.ctx.reader.connect() as conn:
            rows = conn.execute(q).mappings().all()
            ids = [r["id"] for r in rows]
            cams: dict[str, list[str]] = {}
            if ids:
                for rid, name in conn.execute(
                    select(RequestCamera.request_id, Camera.name)
                    .join(Camera, Camera.id == RequestCamera.camera_id)
                    .where(RequestCamera.request_id.in_(ids))  # type: ignore[attr-defined]
                    .order_by(Camera.name)
                ):
                    cams.setdefault(rid, []).append(name)
        return [self._info(r, cams.get(r["id"], [])) for r in rows]

    @staticmethod
    def _info(r: Any, cameras: list[str]) -> RequestInfo:
        return RequestInfo(
            id=r["id"],
            status=r["status"],
            created_at=r["created_at"],
            requester=r["requester"],
            organisation=r["organisation"],
            kind=r["kind"],
            basis=r["basis"],
            reason=r["reason"],
            cameras=cameras,
            scope_from=r["scope_from"],
            scope_to=r["scope_to"],
            contact=r["contact"],
            reference=r["reference"],
            deadline=r["deadline"],
            recipient=r["recipient"],
        )

    def get(self, request_id: str) -> RequestInfo:
        self.lapse_due()
        with self.ctx.reader.connect() as conn:
            return self._request_info(conn, request_id)

    def _request_info(self, conn: Connection, request_id: str) -> RequestInfo:
        """The request with its attachments, decision and exports, as *conn* sees it."""
        row = conn.execute(select(Request).where(Request.id == request_id)).mappings().first()
        if row is None:
            raise NotFound(f"no request {request_id!r}")
        cams = [
            n
            for (n,) in conn.execute(
                select(Camera.name)
                .join(RequestCamera, RequestCamera.camera_id == Camera.id)
                .where(RequestCamera.request_id == request_id)
                .order_by(Camera.name)
            )
        ]
        attachments = [
            {"id": a.id, "name": a.name, "size": a.size, "sha256": a.sha256}
            for a in conn.execute(
                select(Attachment)
                .where(Attachment.request_id == request_id)
                .order_by(Attachment.added_at, Attachment.id)
            )
        ]
        dec = conn.execute(select(Decision).where(Decision.request_id == request_id)).first()
        decision: dict[str, Any] | None = None
        if dec is not None:
            clip_ids = [
                c
                for (c,) in conn.execute(
                    select(DecisionClip.clip_id).where(DecisionClip.decision_id == dec.id)
                )
            ]
            decision = {
                "id": dec.id,
                "outcome": dec.outcome,
                "reason": dec.reason,
                "terms": dec.terms,
                "expires_at": iso(dec.expires_at),
                "decided_at": iso(dec.decided_at),
                "clips": clip_ids,
            }
        exports = [
            {
                "id": e.id,
                "created_at": iso(e.created_at),
                "format": e.format,
                "out_dir": e.out_dir,
            }
            for e in conn.execute(
                select(Export).where(Export.request_id == request_id).order_by(Export.created_at)
            )
        ]
        return replace(
            self._info(row, cams), attachments=attachments, decision=decision, exports=exports
        )

    def scope_clips(
        self, request_id: str, *, limit: int | None = None, offset: int = 0
    ) -> list[ClipInfo]:
        """The clips a request asks for: its cameras, inside its time window."""
        with self.ctx.reader.connect() as conn:
            return self._scope_clips(conn, request_id, limit=limit, offset=offset)

    def _scope_clips(
        self, conn: Connection, request_id: str, *, limit: int | None = None, offset: int = 0
    ) -> list[ClipInfo]:
        req = conn.execute(
            select(Request.scope_from, Request.scope_to).where(Request.id == request_id)
        ).first()
        if req is None:
            raise NotFound(f"no request {request_id!r}")
        cam_ids = select(RequestCamera.camera_id).where(RequestCamera.request_id == request_id)
        # A clip is in scope when it overlaps the window: it starts inside it,
        # or it started up to MAX_CLIP_SPAN before and its length reaches into
        # it (the release plan then cuts it to the window).
        start = as_utc(req[0])
        start_jd = (start - _JD_EPOCH) / timedelta(days=1) + 2440587.5
        overlaps = or_(
            Clip.captured_at >= req[0],
            func.julianday(Clip.captured_at) + col(Clip.duration_s) / 86400.0 > start_jd,
        )
        q = (
            clip_query()
            .where(Clip.camera_id.in_(cam_ids))  # type: ignore[attr-defined]
            .where(Clip.captured_at >= start - MAX_CLIP_SPAN, Clip.captured_at <= req[1])
            .where(overlaps)
            .where(Clip.shredded_at.is_(None))  # type: ignore[union-attr]
            .order_by(Clip.captured_at, Clip.id)
            .offset(offset)
        )
        if limit is not None:
            q = q.limit(limit)
        return [row_to_info(r) for r in conn.execute(q)]

    def withdraw(self, request_id: str, reason: str | None = None) -> None:
        self._move(request_id, Action.WITHDRAW, events.REQUEST_WITHDRAWN, {"reason": reason})

    def _move(self, request_id: str, action: Action, event: str, details: dict[str, Any]) -> Status:
        self.lapse_due()
        with self.ctx.engine.begin() as conn:
            status = conn.execute(select(Request.status).where(Request.id == request_id)).scalar()
            if status is None:
                raise NotFound(f"no request {request_id!r}")
            new = transition(status, action)
            conn.execute(
                update(Request)
                .where(Request.id == request_id)
                .values(status=new.value, updated_at=self.ctx.clock())
            )
            self.ctx.audit.append(
                event,
                actor=self.ctx.actor,
                subject=request_id,
                details={"was": status, **details},
                conn=conn,
            )
        self.keyring.checkpoint()
        return new

    # --- decisions -----------------------------------------------------------------

    def plan_release(
        self,
        request_id: str,
        *,
        clips: list[str] | None = None,
        exclude: list[str] | None = None,
        choices: Choices | None = None,
    ) -> ReleasePlan:
        """The release plan an approval with these clips and *choices* would sign:
        what the owner is shown before signing (the disclosed window of each cut)."""
        self.keyring.owner_keys()
        with self.ctx.reader.connect() as conn:
            kind = conn.execute(select(Request.kind).where(Request.id == request_id)).scalar()
            if kind is None:
                raise NotFound(f"no request {request_id!r}")
            chosen, _scope = self._chosen(conn, request_id, clips, exclude)
        if choices is None:
            from vault.service.release_plan import defaults_for

            choices = defaults_for(kind)
        ids = [c.id for c in chosen]
        if self.planner is None:
            return transform_plan.whole(ids)
        return self.planner.plan(request_id, ids, choices)

    def _chosen(
        self, conn: Connection, request_id: str, clips: list[str] | None, exclude: list[str] | None
    ) -> tuple[list[ClipInfo], dict[str, ClipInfo]]:
        """The clips an approval of *clips* (all in scope by default) minus *exclude*
        releases, and the request's scope."""
        scope = {c.id: c for c in self._scope_clips(conn, request_id)}
        wanted = list(dict.fromkeys(clips)) if clips else list(scope)
        outside = [c for c in wanted + (exclude or []) if c not in scope]
        if outside:
            known = set(conn.execute(select(Clip.id).where(col(Clip.id).in_(outside))).scalars())
            unknown = [c for c in outside if c not in known]
            if unknown:  # a clip that does not exist at all is not found (3)
                raise NotFound(f"no clip {unknown[0]!r}")
            raise PolicyError(f"clip {outside[0]} is not in the request's scope")
        excluded = set(exclude or [])
        chosen = [scope[c] for c in wanted if c not in excluded]
        if not chosen:
            raise UsageError("nothing left to approve: refuse the request instead")
        return chosen, scope

    def decide(
        self,
        request_id: str,
        *,
        approve: bool,
        reason: str,
        clips: list[str] | None = None,
        exclude: list[str] | None = None,
        expires: datetime | None = None,
        terms: str | None = None,
        choices: Choices | None = None,
        release: ReleasePlan | None = None,
    ) -> DecisionResult:
        """Approve (all, or the given subset) or refuse; returns the signed receipt.

        An approval signs a release plan: *release* as shown to the owner
        (:meth:`plan_release`), or one made here from *choices* (by default
        the request kind's, vault.service.release_plan.defaults_for).
        """
        from vault.service.receipts_build import decision_receipt

        keys = self.keyring.owner_keys()
        reason_text = _text(reason, "--reason", required=True)
        terms = _text(terms, "--terms", required=False)
        now = self.ctx.clock()
        if expires is not None:
            expires = as_utc(expires)
        if expires is not None and expires <= now:
            raise UsageError("--expires: must be in the future")
        self.lapse_due()
        if approve and release is None:
            # Planned before the write transaction: a clip to cut is read first.
            release = self.plan_release(request_id, clips=clips, exclude=exclude, choices=choices)
        decision_id = self.ctx.new_id("decision")
        with self.ctx.engine.begin() as conn:
            status = conn.execute(select(Request.status).where(Request.id == request_id)).scalar()
            if status is None:
                raise NotFound(f"no request {request_id!r}")
            chosen: list[ClipInfo] = []
            if approve:
                assert release is not None
                chosen, scope = self._chosen(conn, request_id, clips, exclude)
                if [c.id for c in chosen] != [c.clip for c in release.clips]:
                    raise PolicyError(
                        "the clips in the request's scope changed while the "
                        "release was planned: approve again"
                    )
                full = {c.id for c in chosen} == set(scope)
                action = Action.APPROVE if full else Action.APPROVE_PART
            else:
                if clips or exclude:
                    raise UsageError("a refusal names no clips")
                scope = {c.id: c for c in self._scope_clips(conn, request_id)}
                release = None
                action = Action.REFUSE
            new = transition(status, action)
            outcome = OUTCOME[new].value
            self._check_as_filed(conn, request_id)
            conn.execute(
                update(Request)
                .where(Request.id == request_id)
                .values(status=new.value, updated_at=now)
            )
            conn.execute(
                insert(Decision).values(
                    id=decision_id,
                    request_id=request_id,
                    outcome=outcome,
                    reason=reason_text,
                    terms=terms,
                    expires_at=expires,
                    decided_at=now,
                    audit_index=-1,
                    receipt="",
                    release=(
                        None if release is None else canonical_json(release.as_facts()).decode()
                    ),
                )
            )
            for c in chosen:
                conn.execute(
                    insert(DecisionClip).values(
                        decision_id=decision_id,
                        clip_id=c.id,
                        camera=c.camera,
                        captured_at=c.captured_at,
                        size=c.size,
                        sha256=c.sha256,
                    )
                )
            # Signed here, inside the transaction that records the decision:
            # there is no moment at which an unsigned decision exists.
            signed = decision.sign(self._decision_facts(conn, request_id), keys.signing_key)
            index = self.ctx.audit.append(
                events.REQUEST_DECIDED,
                actor="owner",
                subject=request_id,
                details={
                    "decision": decision_id,
                    "outcome": outcome,
                    "reason": reason_text,
                    "terms": terms,
                    "expires_at": iso(expires),
                    "clips": [{"id": c.id, "sha256": c.sha256} for c in chosen],
                    "in_scope": len(scope),
                    "signed": signed,
                },
                conn=conn,
            )
            conn.execute(
                update(Decision).where(Decision.id == decision_id).values(audit_index=index)
            )
        note = self.keyring.checkpoint_with_owner()
        receipt = decision_receipt(self.receipt_source(), request_id, note, keys)
        with self.ctx.engine.begin() as conn:
            conn.execute(
                update(Decision)
                .where(Decision.id == decision_id)
                .values(receipt=canonical_json(receipt).decode())
            )
        return DecisionResult(receipt)

    def _decision_facts(self, conn: Connection, request_id: str) -> dict[str, Any]:
        """What the owner signs when deciding, read from the catalog through *conn*."""
        info = self._request_info(conn, request_id)
        dec = conn.execute(select(Decision).where(Decision.request_id == request_id)).first()
        if dec is None:
            raise PolicyError(f"request {request_id} has no decision")
        return decision.statement(
            self.ctx.config.origin,
            {"id": info.id, "created_at": iso(info.created_at), **filed_facts(info)},
            {
                "id": dec.id,
                "outcome": dec.outcome,
                "reason": dec.reason,
                "terms": dec.terms,
                "decided_at": iso(dec.decided_at),
                "expires_at": iso(dec.expires_at),
                # The owner's minimisations and each clip's operations; absent
                # from decisions made before release plans (whole clips).
                **({} if dec.release is None else {"release": _release_facts(dec.release)}),
            },
            decided_clip_facts(conn, dec.id),
        )

    def _check_as_filed(self, conn: Connection, request_id: str) -> None:
        """The catalog's request still says what its ``request.created`` entry recorded.

        The owner signs what the catalog shows; a requester, recipient or scope
        changed in the catalog after filing must not slip under that signature.
        """
        filed = [
            e
            for _i, e in self.ctx.audit.about(
                subject=request_id, types=(events.REQUEST_CREATED,), conn=conn
            )
        ]
        if len(filed) != 1 or not isinstance(filed[0].get("details"), dict):
            raise IntegrityError(
                f"request {request_id} has no single `request.created` entry in the audit "
                "log; it cannot be decided. Run `ringfence audit verify`."
            )
        logged = filed[0]["details"]
        diffs = decision.differences(logged, filed_facts(self._request_info(conn, request_id)))
        if diffs:
            raise IntegrityError(
                f"request {request_id} in the catalog differs from what was filed "
                f"({', '.join(diffs[:5])}); it cannot be decided. Run `ringfence audit verify`."
            )

    def decision_problem(self, request_id: str) -> str | None:
        """Why the request's decision does not carry the owner's valid signature, or None.

        Needs the owner unlocked: the signature is checked with the key in
        memory, never with a copy from the vault's files.
        """
        with self.ctx.reader.connect() as conn:
            return self._decision_problem(conn, request_id)

    def _decision_problem(self, conn: Connection, request_id: str) -> str | None:
        public = receipts.raw_public(self.keyring.owner_keys().signing_key.public_key())
        dec = conn.execute(select(Decision).where(Decision.request_id == request_id)).first()
        if dec is None:
            return "it has no decision"
        try:
            entry = parse_canonical(self.ctx.audit.entry(dec.audit_index))
        except (NotFound, IntegrityError):
            return f"its audit entry {dec.audit_index} is missing or malformed"
        details = entry.get("details") if isinstance(entry, dict) else None
        if (entry.get("type"), entry.get("subject")) != (events.REQUEST_DECIDED, request_id) or (
            not isinstance(details, dict)
        ):
            return f"audit entry {dec.audit_index} is not a decision on this request"
        try:
            signed = decision.verify(details.get("signed"), public)
        except IntegrityError as exc:
            return exc.message
        later = self.ctx.audit.about(
            subject=request_id,
            types=(events.REQUEST_DECIDED, events.REQUEST_REOPENED),
            conn=conn,
            complete=True,
            since=dec.audit_index + 1,
        )
        if later:
            # An old signed approval put back behind a reopening or a newer decision.
            return (
                f"audit entry {later[-1][0]} ({later[-1][1]['type']}) supersedes the "
                f"decision in entry {dec.audit_index}"
            )
        if dec.receipt:
            try:
                receipts.check_signature(parse_canonical(dec.receipt.encode()), public)
            except IntegrityError as exc:
                return f"its stored receipt: {exc.message}"
        diffs = decision.differences(signed, self._decision_facts(conn, request_id))
        if diffs:
            return "the catalog's decision differs from the one the owner signed, in " + ", ".join(
                diffs[:5]
            )
        return None

    def reopen(self, request_id: str, reason: str) -> None:
        """Put a request whose decision carries no valid owner signature back to pending.

        A decision the owner signed stands and cannot be reopened; an approval
        that does not verify (forged, altered, or from before decisions were
        signed) releases nothing, and reopening lets the owner look and decide
        again. A refusal stays final: it releases nothing either way.
        """
        text = _text(reason, "--reason", required=True)
        self.keyring.owner_keys()
        self.lapse_due()
        with self.ctx.engine.begin() as conn:
            status = conn.execute(select(Request.status).where(Request.id == request_id)).scalar()
            if status is None:
                raise NotFound(f"no request {request_id!r}")
            dec = conn.execute(select(Decision).where(Decision.request_id == request_id)).first()
            problem = self._decision_problem(conn, request_id)
            if dec is None or problem is None:
                raise PolicyError(
                    f"request {request_id} has "
                    + ("no decision" if dec is None else "a decision the owner signed")
                    + ": there is nothing to reopen"
                )
            new = transition(status, Action.REOPEN)
            conn.execute(delete(DecisionClip).where(DecisionClip.decision_id == dec.id))
            conn.execute(delete(Decision).where(Decision.id == dec.id))
            conn.execute(
                update(Request)
                .where(Request.id == request_id)
                .values(status=new.value, updated_at=self.ctx.clock())
            )
            self.ctx.audit.append(
                events.REQUEST_REOPENED,
                actor="owner",
                subject=request_id,
                details={"was": status, "decision": dec.id, "why": problem, "reason": text},
                conn=conn,
            )
        self.keyring.checkpoint()

    def receipt_source(self) -> ReceiptSource:
        return ReceiptSource(self.ctx, self)

    def decision_receipt(self, request_id: str) -> dict[str, Any]:
        with self.ctx.reader.connect() as conn:
            text = conn.execute(
                select(Decision.receipt).where(Decision.request_id == request_id)
            ).scalar()
        if not text:
            raise NotFound(f"request {request_id} has no decision")
        receipt: dict[str, Any] = parse_canonical(text.encode())
        return receipt


class ReceiptSource:
    """What building a receipt reads: a request, the catalog, the log, the clock,
    the id generator and the configuration (vault.service.receipts_build)."""

    def __init__(self, ctx: VaultContext, requests: RequestService) -> None:
        self._ctx = ctx
        self._requests = requests
        self.reader = ctx.reader
        self.config = ctx.config
        self.audit = ctx.audit
        self.clock = ctx.clock
        self.new_id = ctx.new_id

    def request(self, request_id: str) -> RequestInfo:
        return self._requests.get(request_id)
