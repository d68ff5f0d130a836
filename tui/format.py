"""How the app writes values for people: times, sizes, durations, labels.

Pure functions of their arguments (the clock is passed in), so screens stay
thin and snapshot tests stay deterministic.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.text import Text

from vault.service import Status
from vault.units import human_size

__all__ = [
    "basis_label",
    "clock_time",
    "duration",
    "human_size",
    "local",
    "outcome_label",
    "relative",
    "short_time",
    "status_text",
    "truncate",
]

BASIS_LABELS = {
    "warrant": "warrant",
    "subpoena": "subpoena",
    "court-order": "court order",
    "consent": "consent",
    "emergency": "emergency claim",
    "owner": "owner's own view",
}

STATUS_STYLES: dict[str, str] = {
    Status.PENDING: "bold yellow",
    Status.APPROVED: "green",
    Status.PARTLY_APPROVED: "green",
    Status.REFUSED: "red",
    Status.EXPIRED: "dim",
    Status.WITHDRAWN: "dim",
}


def local(dt: datetime) -> datetime:
    """*dt* (aware UTC from the catalog) in the machine's time zone."""
    return dt.astimezone()


def short_time(dt: datetime | None) -> str:
    """``2026-11-28 14:05`` in local time, or ``-``."""
    return "-" if dt is None else local(dt).strftime("%Y-%m-%d %H:%M")


def clock_time(dt: datetime | None) -> str:
    """``2026-11-28 14:05:09`` in local time, or ``-``."""
    return "-" if dt is None else local(dt).strftime("%Y-%m-%d %H:%M:%S")


def relative(dt: datetime | None, now: datetime) -> str:
    """``in 5 h``, ``3 d ago``, ``now``: how far *dt* is from *now*, coarsely."""
    if dt is None:
        return "-"
    delta = dt - now
    future = delta >= timedelta(0)
    secs = abs(delta.total_seconds())
    if secs < 60:
        return "now"
    if secs < 3600:
        amount = f"{int(secs // 60)} min"
    elif secs < 2 * 86400:
        amount = f"{int(secs // 3600)} h"
    else:
        amount = f"{int(secs // 86400)} d"
    return f"in {amount}" if future else f"{amount} ago"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d} min"


def truncate(text: str | None, width: int) -> str:
    """One line of at most *width* characters, with an ellipsis when cut."""
    if not text:
        return ""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: max(width - 1, 0)] + "…"


def basis_label(basis: str) -> str:
    return BASIS_LABELS.get(basis, basis)


def outcome_label(outcome: str) -> str:
    return outcome.replace("_", " ")


def status_text(status: str) -> Text:
    return Text(status.replace("_", " "), style=STATUS_STYLES.get(status, ""))


def in_words(seconds: float) -> str:
    """A span as a person says it: ``5 minutes``, ``1 minute 30 seconds``, ``8 seconds``."""
    total = max(int(round(seconds)), 0)
    minutes, secs = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)

    def unit(n: int, name: str) -> str:
        return f"{n} {name}{'' if n == 1 else 's'}"

    parts = [
        unit(n, name) for n, name in ((hours, "hour"), (minutes, "minute"), (secs, "second")) if n
    ]
    return " ".join(parts) or "0 seconds"
