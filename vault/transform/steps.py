"""The export's transformation steps: one per operation of a release plan.

A step turns one file into another (``apply(src, dst, planned, clip)``) and
returns the operation entry describing what it actually did. The export job
(vault.service.export_job) runs a clip's signed operations in order through
:func:`run`, each step writing a fresh file in the export's private work
folder, and refuses the clip when a step's entry differs from the signed one:
what leaves is exactly what the owner signed, or nothing.

A new transformation (a privacy mask, face blurring) is a class with an
``op`` name and an ``apply`` method, listed in :func:`available`; its planned
entry is made when the owner decides (vault.service.release_plan). A step
whose library is missing is simply not available: a plan that needs it is
refused at export with a message naming what to install.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

from vault.errors import IntegrityError, PolicyError
from vault.timeutil import parse_time
from vault.transform import plan
from vault.transform.plan import Cut

#: Containers a clip can be cut and remuxed from (video with a packet index).
VIDEO_CONTAINERS = frozenset({"mp4", "matroska", "mpegts"})


@dataclass(frozen=True)
class ClipSource:
    """What a step knows about the original clip."""

    id: str
    camera: str
    captured_at: datetime
    sha256: str


class Step(Protocol):
    op: str

    def apply(
        self, src: Path, dst: Path, planned: Mapping[str, Any], clip: ClipSource
    ) -> dict[str, Any]:
        """Write *dst* from *src* as *planned* says; return the entry of what was done."""
        ...


def _seconds(delta: timedelta) -> Fraction:
    return Fraction(delta // timedelta(microseconds=1), 1_000_000)


def _at(text: Any) -> datetime:
    if not isinstance(text, str):
        raise IntegrityError("a planned time is not text")
    return parse_time(text, "planned time")


class Trim:
    """Cut a clip to the approved window (remux from a keyframe, or exactly)."""

    op = plan.TRIM

    @staticmethod
    def plan(
        index: Any, captured_at: datetime, window_from: datetime, window_to: datetime, cut: Cut
    ) -> dict[str, Any] | None:
        """The planned trim of a clip whose packets are *index*, or None when the
        whole clip lies inside the window (nothing to cut)."""
        from vault.transform import remux

        start = max(window_from, captured_at)
        end = min(window_to, captured_at + timedelta(seconds=float(index.end)))
        if start <= captured_at and end >= captured_at + timedelta(seconds=float(index.end)):
            return None
        if end <= start:
            raise PolicyError("the clip does not overlap the window")
        a, b = _seconds(start - captured_at), _seconds(end - captured_at)
        span = (remux.exact_span if cut == Cut.EXACT else remux.remux_span)(index, a, b)
        return {
            "op": plan.TRIM,
            "mode": Cut.EXACT.value if cut == Cut.EXACT else Cut.REMUX.value,
            "requested": plan.window_facts(start, end),
            "disclosed": plan.window_facts(
                captured_at + timedelta(seconds=float(span.start)),
                captured_at + timedelta(seconds=float(span.end)),
            ),
            "frames": span.frames,
        }

    def apply(
        self, src: Path, dst: Path, planned: Mapping[str, Any], clip: ClipSource
    ) -> dict[str, Any]:
        from vault.transform import remux

        requested = planned.get("requested")
        if not isinstance(requested, list) or len(requested) != 2:
            raise IntegrityError("the planned trim has no requested window")
        cut = Cut.EXACT if planned.get("mode") == Cut.EXACT.value else Cut.REMUX
        index = remux.read_index(src)
        entry = self.plan(index, clip.captured_at, _at(requested[0]), _at(requested[1]), cut)
        if entry is None or entry != dict(planned):
            return entry or {"op": plan.TRIM}
        a = _seconds(_at(requested[0]) - clip.captured_at)
        b = _seconds(_at(requested[1]) - clip.captured_at)
        if cut == Cut.EXACT:
            span = remux.exact_span(index, a, b)
            frames = remux.reencode_cut(src, dst, span, index=index)
        else:
            span = remux.remux_span(index, a, b)
            frames = remux.remux(src, dst, span=span, index=index)
        return {**entry, "frames": frames}


class StripAudio:
    """Remove every sound stream (a remux: the video is copied)."""

    op = plan.STRIP_AUDIO

    def apply(
        self, src: Path, dst: Path, planned: Mapping[str, Any], clip: ClipSource
    ) -> dict[str, Any]:
        from vault.transform import remux

        remux.remux(src, dst, audio=False)
        return {"op": plan.STRIP_AUDIO}


class TimeTrack:
    """Add a ``mov_text`` subtitle track giving the capture time of each second."""

    op = plan.TIME_TRACK

    def apply(
        self, src: Path, dst: Path, planned: Mapping[str, Any], clip: ClipSource
    ) -> dict[str, Any]:
        from vault.transform import remux

        start = _at(planned.get("start"))
        remux.remux(src, dst, clock_start=start)
        return {"op": plan.TIME_TRACK, "start": plan.instant(start)}


def available() -> dict[str, Step]:
    """The steps this installation can run, by operation name."""
    steps: list[Step] = [Trim(), StripAudio(), TimeTrack()]
    return {s.op: s for s in steps}


#: What to install for an operation this installation cannot run.
MISSING_HINT = {
    plan.BLUR_FACES: "face blurring is not available in this installation",
    plan.MASK: "privacy masks are not available in this installation",
}


def check_available(needed: set[str]) -> None:
    """PolicyError naming the first operation of *needed* that cannot run here."""
    have = available()
    for op in plan.ORDER + tuple(sorted(needed - set(plan.ORDER))):
        if op in needed and op not in have:
            why = MISSING_HINT.get(op, f"the operation {op!r} is not known to this version")
            raise PolicyError(
                f"the signed decision asks for {op}, but {why}; nothing was "
                "released (approve again without it, or install what it needs)"
            )


def run(operations: list[dict[str, Any]], src: Path, work: Path, clip: ClipSource) -> Path:
    """Apply *operations* in order to *src*, each writing a new file in *work*;
    the path of the last. IntegrityError when a step did other than planned."""
    steps = available()
    current = src
    for n, planned in enumerate(operations):
        step = steps.get(planned.get("op", ""))
        if step is None:
            check_available({str(planned.get("op"))})
            raise PolicyError(f"no step for {planned.get('op')!r}")
        out = work / f"{clip.id}.{n}.mp4"
        done = step.apply(current, out, planned, clip)
        if done != planned:
            raise IntegrityError(
                f"clip {clip.id}: the {planned.get('op')} step did other than the owner "
                f"signed ({plan.describe(done)}; signed: {plan.describe(dict(planned))}); "
                "nothing was released"
            )
        if current != src:
            current.unlink()
        current = out
    return current
