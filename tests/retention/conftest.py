"""A vault whose camera reads capture times from file names, and helpers to fill it."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.tools import files_with
from vault.ingest.daemon import Daemon, DaemonOptions
from vault.service import Vault

PATTERN = "front_%Y%m%d_%H%M%S%z"
OLD = datetime(2020, 1, 1, tzinfo=UTC)  # long past any retention the tests set


def clip_name(at: datetime, camera: str = "front") -> str:
    return f"{camera}_{at.strftime('%Y%m%d_%H%M%S')}+0000.mp4"


def ingest(
    vault: Vault, drop: Path, times: Iterable[datetime], camera: str = "front", size: int = 3000
) -> dict[datetime, str]:
    """Drop one random file per capture time, run the daemon once; capture time -> clip id."""
    times = list(times)
    for at in times:
        (drop / clip_name(at, camera)).write_bytes(os.urandom(size))
    Daemon(vault, DaemonOptions(once=True, settle_seconds=0)).run()
    by_time = {c.captured_at: c.id for c in vault.clips.all(camera=camera, include_shredded=True)}
    return {at: by_time[at] for at in times}


def headers(vault: Vault) -> dict[str, bytes]:
    """Every clip's age header that still exists, by clip id."""
    from sqlalchemy import select

    from vault.catalog.models import Clip

    with vault.engine.connect() as conn:
        rows = conn.execute(select(Clip.id, Clip.header)).all()
    return {cid: bytes(h) for cid, h in rows if h is not None}


KEY_LINE = re.compile(rb"\n([A-Za-z0-9+/]{43})\n")


def needles(header: bytes) -> list[bytes]:
    """What must not survive a shred: the header and each of its key-bearing lines."""
    lines = [line for line in header.split(b"\n") if len(line) >= 40]
    return [header, *lines, *KEY_LINE.findall(header)]


def files_containing(root: Path, needle: bytes) -> list[str]:
    """Every file under *root* whose bytes contain *needle* (searched by a child
    process, so this one's catalog locks stay: tests.tools.files_with)."""
    return files_with(root, [needle])[0]


def leftovers(root: Path, shredded: dict[str, bytes]) -> dict[str, list[str]]:
    wanted = [(cid, n) for cid, header in shredded.items() for n in needles(header)]
    found: dict[str, list[str]] = {}
    for (cid, _n), hits in zip(wanted, files_with(root, [n for _c, n in wanted]), strict=True):
        if hits:
            found.setdefault(cid, []).extend(hits)
    return found


@pytest.fixture
def drop(vault: Vault, tmp_path: Path) -> Path:
    """Camera 'front' keeps clips 30 days and reads capture times from names."""
    folder = tmp_path / "drop" / "front"
    folder.mkdir(parents=True)
    vault.cameras.add("front", folder, pattern=PATTERN, retention_days=30)
    return folder


def at(days: float) -> datetime:
    return OLD + timedelta(days=days)


def later(vault: Vault, days: float) -> None:
    """Move the vault's clock *days* into the future (from the real now)."""
    base = datetime.now(UTC) + timedelta(days=days)
    vault.clock.set(lambda: base)
