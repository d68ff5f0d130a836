"""Times: the catalog keeps timezone-aware UTC; users type ISO 8601."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from vault.errors import UsageError


def utc_now() -> datetime:
    """Now, as an aware UTC datetime (the catalog's convention)."""
    return datetime.now(UTC)


def parse_time(text: str, what: str = "time") -> datetime:
    """Parse ISO 8601 (``2026-11-28``, ``2026-11-28T14:00``, with ``Z`` or an offset).

    A time without an offset is the machine's local time; a date alone is its
    midnight (the start of a window; ends use :func:`parse_end_time`).
    Returns aware UTC.
    """
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise UsageError(
            f"{what}: {text!r} is not an ISO 8601 time (e.g. 2026-11-28T14:00)"
        ) from None
    try:
        return as_utc(parsed)
    except (ValueError, OverflowError):
        raise UsageError(f"{what}: {text!r} is out of the range of times ringfence keeps") from None


def is_date_only(text: str) -> bool:
    """Is *text* a calendar date with no time of day (``2026-11-28``)?"""
    try:
        date.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


def parse_end_time(text: str, what: str = "time", *, inclusive: bool) -> datetime:
    """Parse the end of a window; a date without a time means the whole of that day.

    ``--to 2026-11-28`` covers the 28th to its last moment: an inclusive end
    is the last microsecond of the day, an exclusive one the next midnight
    (both in the machine's local time, so a DST change that day is right).
    A text with a time is read as :func:`parse_time` reads it.
    """
    if not is_date_only(text):
        return parse_time(text, what)
    day = date.fromisoformat(text.strip())
    try:
        midnight = datetime.combine(day + timedelta(days=1), datetime.min.time())
    except OverflowError:
        raise UsageError(f"{what}: {text!r} is out of the range of times ringfence keeps") from None
    end = midnight - timedelta(microseconds=1) if inclusive else midnight
    try:
        return as_utc(end)
    except (ValueError, OverflowError):
        raise UsageError(f"{what}: {text!r} is out of the range of times ringfence keeps") from None


def as_utc(dt: datetime) -> datetime:
    """Aware UTC; a naive value is taken as the machine's local time."""
    if dt.tzinfo is None:
        dt = dt.astimezone()
    return dt.astimezone(UTC)


def iso(dt: datetime | None) -> str | None:
    """RFC 3339 text in UTC with Z, to the second."""
    if dt is None:
        return None
    if dt.tzinfo is None:  # the catalog's convention is UTC
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
