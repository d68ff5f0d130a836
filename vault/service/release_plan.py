"""Planning a release while the owner decides: what each approved clip becomes.

The plan (vault.transform.plan) is made before the decision is signed, shown
to the owner, and signed with it. A clip that extends beyond the approved
window is opened here (ClipOpener, the owner's key in memory; nothing is
written to disk) only to read its packet index: where its keyframes are
decides the window a remux cut discloses. Clips wholly inside the window are
not opened at all.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from vault.catalog.models import Camera, Clip, Request
from vault.errors import NotFound, PolicyError
from vault.service.context import VaultContext
from vault.service.guard import ClipOpener
from vault.timeutil import as_utc
from vault.transform import plan
from vault.transform.plan import Choices, ClipPlan, Cut, ReleasePlan
from vault.transform.steps import VIDEO_CONTAINERS, Trim

#: Containers that hold no sound (released whole even when sound is removed).
STILL_IMAGES = frozenset({"jpeg", "png"})
#: The largest clip read into memory to find its keyframes.
MAX_PLAN_BYTES = 1 << 30


def defaults_for(kind: str) -> Choices:
    """The minimisations a request of *kind* gets unless the owner says otherwise:
    someone asking for their own footage (``data-subject``) gets it without
    sound and with other people's faces blurred (docs/requests.md)."""
    if kind == "data-subject":
        return Choices(strip_audio=True, blur_faces=True)
    return Choices()


class ReleasePlanner:
    """Makes the release plan of a decision. *opener* reads a clip to be cut."""

    def __init__(self, ctx: VaultContext, opener: ClipOpener) -> None:
        self.ctx = ctx
        self.opener = opener

    def plan(self, request_id: str, clip_ids: list[str], choices: Choices) -> ReleasePlan:
        with self.ctx.reader.connect() as conn:
            req = conn.execute(
                select(Request.scope_from, Request.scope_to).where(Request.id == request_id)
            ).first()
            if req is None:
                raise NotFound(f"no request {request_id!r}")
        with Session(self.ctx.reader) as session:
            rows = {
                clip.id: (clip, audio)
                for clip, audio in session.execute(
                    select(Clip, Camera.export_audio)
                    .join(Camera, Camera.id == Clip.camera_id)
                    .where(Clip.id.in_(clip_ids))  # type: ignore[attr-defined]
                ).all()
            }
        window = (as_utc(req[0]), as_utc(req[1]))
        clips = []
        for cid in clip_ids:
            if cid not in rows:
                raise NotFound(f"no clip {cid!r}")
            clip, audio = rows[cid]
            clips.append(self._clip(clip, bool(audio), window, choices))
        return ReleasePlan(choices, clips)

    def _clip(
        self, clip: Clip, export_audio: bool, window: tuple[datetime, datetime], choices: Choices
    ) -> ClipPlan:
        wanted = (
            choices.cut != Cut.WHOLE
            or choices.strip_audio
            or choices.blur_faces
            or (not export_audio)
        )
        if not wanted:
            return ClipPlan(clip.id)
        if clip.container not in VIDEO_CONTAINERS or clip.width is None:
            soundless = clip.container in STILL_IMAGES
            if choices.blur_faces or ((choices.strip_audio or not export_audio) and not soundless):
                raise PolicyError(
                    f"clip {clip.id} is not a video ringfence can edit, so its "
                    + (
                        "faces cannot be blurred"
                        if choices.blur_faces
                        else "sound cannot be removed"
                    )
                    + f": leave it out (--exclude-clip {clip.id}) or decide without that "
                    "minimisation"
                )
            return ClipPlan(
                clip.id, note="not a video ringfence can cut: released as the original file"
            )
        captured = as_utc(clip.captured_at)
        ops: list[dict[str, object]] = []
        start = captured
        if choices.cut != Cut.WHOLE and self._overruns(clip, captured, window):
            from vault.transform import remux

            try:
                index = remux.read_index(io.BytesIO(self.opener.in_memory(clip, MAX_PLAN_BYTES)))
                trim = Trim.plan(index, captured, window[0], window[1], choices.cut)
            except remux.MediaUnavailable:
                raise
            except (remux.MediaError, PolicyError) as exc:
                return ClipPlan(
                    clip.id, note=f"cannot be cut ({exc.message}): released as the original file"
                )
            if trim is not None:
                ops.append(trim)
                start = plan_time(trim["disclosed"][0])
        if choices.strip_audio or not export_audio:
            ops.append({"op": plan.STRIP_AUDIO})
        if choices.blur_faces:
            ops.append({"op": plan.BLUR_FACES})
        if ops:
            ops.append({"op": plan.TIME_TRACK, "start": plan.instant(start)})
        return ClipPlan(clip.id, ops)

    @staticmethod
    def _overruns(clip: Clip, captured: datetime, window: tuple[datetime, datetime]) -> bool:
        """Whether the clip may extend beyond the window (unknown length: maybe)."""
        if captured < window[0]:
            return True
        if clip.duration_s is None:
            return True
        return captured + timedelta(seconds=clip.duration_s) > window[1]


def plan_time(text: str) -> datetime:
    from vault.timeutil import parse_time

    return parse_time(text, "planned time")
