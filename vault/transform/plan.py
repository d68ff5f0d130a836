"""The release plan: the minimisations the owner signs, clip by clip.

A decision that approves footage carries a *release plan* under the owner's
signature (vault.decision): the owner's choices (how clips are cut to the
window, whether sound is removed, whether faces are blurred) and, for every
approved clip, the exact list of operations its delivered file is made by.
Each operation is a JSON object with an ``op`` name and its parameters, for
example ``{"op": "trim", "mode": "remux", "requested": [T1, T2],
"disclosed": [T1', T2'], "frames": N}``. The export applies exactly those
operations (vault.transform.steps) and refuses when what a step did differs
from what was signed; the receipt repeats them for each delivered file, and
``receipt verify`` compares the two. A clip whose list is empty is delivered
byte-identical to the original.

Pure: values in, values out (the receipt verifier imports this module).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from vault.errors import IntegrityError

VERSION = "ringfence-release/1"

# Operation names, in the order a clip's operations are applied.
TRIM = "trim"
STRIP_AUDIO = "strip-audio"
MASK = "mask"
BLUR_FACES = "blur-faces"
TIME_TRACK = "time-track"
ORDER = (TRIM, STRIP_AUDIO, MASK, BLUR_FACES, TIME_TRACK)
#: Operations that re-encode the picture; the others copy the coded video.
REENCODING = frozenset({MASK, BLUR_FACES})


class Cut(StrEnum):
    """How a clip that extends beyond the approved window is cut to it."""

    REMUX = "remux"  # from the keyframe at or before the window: no re-encode
    EXACT = "exact"  # re-encoded to start and end exactly at the window
    WHOLE = "whole"  # the original file, unchanged (as before cuts existed)


@dataclass(frozen=True)
class Choices:
    """The minimisations the owner chose for one decision (all signed)."""

    cut: Cut = Cut.REMUX
    strip_audio: bool = False
    blur_faces: bool = False

    def as_facts(self) -> dict[str, Any]:
        return {
            "cut": self.cut.value,
            "strip_audio": self.strip_audio,
            "blur_faces": self.blur_faces,
        }

    @staticmethod
    def from_facts(facts: Any) -> Choices:
        if not isinstance(facts, dict) or set(facts) != {"cut", "strip_audio", "blur_faces"}:
            raise IntegrityError("the release plan's choices are malformed")
        try:
            cut = Cut(facts["cut"])
        except ValueError:
            raise IntegrityError("the release plan's cut is unknown") from None
        if not isinstance(facts["strip_audio"], bool) or not isinstance(facts["blur_faces"], bool):
            raise IntegrityError("the release plan's choices are malformed")
        return Choices(cut, facts["strip_audio"], facts["blur_faces"])


@dataclass(frozen=True)
class ClipPlan:
    """What one approved clip's delivered file is made by, and what it shows."""

    clip: str
    operations: list[dict[str, Any]] = field(default_factory=list)
    #: Why the clip is released whole although the choices asked for a cut
    #: (e.g. not a video ringfence can read): shown to the owner, not signed.
    note: str | None = None

    def as_facts(self) -> dict[str, Any]:
        return {"clip": self.clip, "operations": [dict(o) for o in self.operations]}

    def op(self, name: str) -> dict[str, Any] | None:
        return next((o for o in self.operations if o.get("op") == name), None)


@dataclass(frozen=True)
class ReleasePlan:
    """The owner's choices and every approved clip's operations."""

    choices: Choices
    clips: list[ClipPlan]

    def as_facts(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "choices": self.choices.as_facts(),
            "clips": [c.as_facts() for c in self.clips],
        }

    def for_clip(self, clip_id: str) -> ClipPlan:
        for c in self.clips:
            if c.clip == clip_id:
                return c
        raise IntegrityError(f"the signed release plan does not name clip {clip_id}")

    @property
    def needs(self) -> set[str]:
        """Every operation name some clip of the plan needs."""
        return {o["op"] for c in self.clips for o in c.operations}


#: What a whole-clips plan (and a decision signed before plans existed) means.
def whole(clip_ids: list[str]) -> ReleasePlan:
    return ReleasePlan(Choices(cut=Cut.WHOLE), [ClipPlan(c) for c in clip_ids])


def parse(facts: Any) -> ReleasePlan:
    """A release plan from its signed facts, checked strictly (IntegrityError)."""
    if (
        not isinstance(facts, dict)
        or facts.get("version") != VERSION
        or set(facts) != {"version", "choices", "clips"}
    ):
        raise IntegrityError(f"the release plan is not a {VERSION} plan")
    choices = Choices.from_facts(facts["choices"])
    clips = facts["clips"]
    if not isinstance(clips, list):
        raise IntegrityError("the release plan's clips are not a list")
    out = []
    for c in clips:
        if (
            not isinstance(c, dict)
            or set(c) != {"clip", "operations"}
            or not isinstance(c["clip"], str)
            or not isinstance(c["operations"], list)
        ):
            raise IntegrityError("a clip of the release plan is malformed")
        ops = c["operations"]
        names = []
        for o in ops:
            if not isinstance(o, dict) or not isinstance(o.get("op"), str):
                raise IntegrityError(f"an operation of clip {c['clip']} is malformed")
            names.append(o["op"])
        known = [n for n in names if n in ORDER]
        if len(set(names)) != len(names) or known != sorted(known, key=ORDER.index):
            raise IntegrityError(f"the operations of clip {c['clip']} are repeated or out of order")
        out.append(ClipPlan(c["clip"], [dict(o) for o in ops]))
    if len({c.clip for c in out}) != len(out):
        raise IntegrityError("the release plan names a clip twice")
    return ReleasePlan(choices, out)


# --- times ------------------------------------------------------------------------


def instant(dt: datetime) -> str:
    """RFC 3339 in UTC to the millisecond, as plans and receipts write windows."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def floor_ms(dt: datetime) -> datetime:
    return dt - timedelta(microseconds=dt.microsecond % 1000)


def ceil_ms(dt: datetime) -> datetime:
    rest = dt.microsecond % 1000
    return dt if rest == 0 else dt + timedelta(microseconds=1000 - rest)


def window_facts(start: datetime, end: datetime) -> list[str]:
    """A window as plans write it: the start rounded down and the end up to the
    millisecond, so the written window never claims less than what is shown."""
    return [instant(floor_ms(start)), instant(ceil_ms(end))]


def describe(op: dict[str, Any]) -> str:
    """One operation in words, for the owner before signing and for README.txt."""
    name = op.get("op")
    if name == TRIM:
        req, dis = op.get("requested") or ["?", "?"], op.get("disclosed") or ["?", "?"]
        how = (
            "re-encoded to cut exactly at the window"
            if op.get("mode") == Cut.EXACT
            else "cut by copying from the keyframe at or before the window, no re-encode"
        )
        return (
            f"cut to the window: asked {req[0]} to {req[1]}, released {dis[0]} to "
            f"{dis[1]} ({op.get('frames')} frames; {how})"
        )
    if name == STRIP_AUDIO:
        return "sound removed"
    if name == TIME_TRACK:
        return f"wall-clock subtitle track added (first frame {op.get('start')})"
    if name == MASK:
        return f"privacy masks filled: {op.get('rects')}"
    if name == BLUR_FACES:
        return f"faces blurred ({op.get('detector', 'detector')})"
    return f"{name}"
