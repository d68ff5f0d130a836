"""Pure decisions of ingest: which names to skip, when a file is finished,
and when it was captured. No I/O here, so each rule is easy to test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from vault.safetext import shown

# Names a camera or an upload tool uses while a file is still being written.
TEMP_SUFFIXES = (".part", ".tmp", ".partial", ".filepart", ".crdownload", ".download")


def is_ignored_name(name: str) -> bool:
    """Hidden and temporary names are never ingested."""
    lower = name.lower()
    return name.startswith(".") or name.endswith("~") or lower.endswith(TEMP_SUFFIXES)


def is_ignored_path(relative_parts: tuple[str, ...]) -> bool:
    """A file is skipped when it, or any folder above it, has an ignored name."""
    return any(is_ignored_name(part) for part in relative_parts)


@dataclass(frozen=True)
class Observation:
    """What one stat() of a candidate file saw."""

    size: int
    mtime_ns: int
    seen_at: float  # monotonic seconds


def is_settled(
    first: Observation, last: Observation, settle_seconds: float, wall_now: float
) -> bool:
    """True when a file has not changed for *settle_seconds*.

    This is the fallback for writers that never close a file in a way inotify
    sees (network shares, some FTP servers): size and mtime must be equal in
    two observations at least *settle_seconds* apart, and the mtime itself must
    be that old by the wall clock.
    """
    if (first.size, first.mtime_ns) != (last.size, last.mtime_ns):
        return False
    if last.seen_at - first.seen_at < settle_seconds:
        return False
    return wall_now - last.mtime_ns / 1e9 >= settle_seconds


def display_name(name: str) -> str:
    """A file name as text that is safe to print: undecodable bytes, control
    characters (a name may carry terminal escapes) and bidi controls escaped."""
    return shown(name)


#: Capture times outside these years are not believed (the name or mtime lies).
MIN_YEAR, MAX_YEAR = 1970, 9000


def name_time(name: str, pattern: str | None) -> datetime | None:
    """The capture time a file name gives with a strftime *pattern*, as aware
    UTC, or None when there is no pattern or the name does not match it.

    The whole name, or the name without its extension, must match; the time is
    the machine's local time unless the pattern carries %z, and a year outside
    MIN_YEAR..MAX_YEAR is not believed.
    """
    if not pattern:
        return None
    stem = name.rsplit(".", 1)[0]
    for candidate in (name, stem):
        try:
            parsed = datetime.strptime(candidate, pattern)
        except ValueError:
            continue
        if not MIN_YEAR <= parsed.year <= MAX_YEAR:
            continue  # a name that only looks like a time (year 0001, 9999)
        try:
            if parsed.tzinfo is None:
                parsed = parsed.astimezone()  # local wall time -> aware
            return parsed.astimezone(UTC)
        except (ValueError, OverflowError):
            continue
    return None


def mtime_time(mtime: float) -> datetime:
    """A file's mtime as aware UTC; the time of sealing if no calendar holds it."""
    try:
        return datetime.fromtimestamp(mtime, UTC)
    except (ValueError, OverflowError, OSError):
        return datetime.now(UTC)


def capture_time(name: str, pattern: str | None, mtime: float) -> datetime:
    """When the clip was captured, as aware UTC: from the name (see
    :func:`name_time`), else from the file's mtime."""
    return name_time(name, pattern) or mtime_time(mtime)
