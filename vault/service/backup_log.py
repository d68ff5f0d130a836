"""What the vault knows of its backups: the staging folder a run works in,
and the destinations the audit log says were updated, and when.

Shared by the backup itself (vault.service.backup) and by shredding
(vault.service.retention), whose deletion records name the backups that
still hold a shredded clip's header until their next run.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

from vault.config import Layout
from vault.errors import VaultBusy
from vault.fsutil import ensure_private_dir

_LOCK = ".lock"


def _clear(folder: Path) -> None:
    for p in folder.iterdir():
        if p.name != _LOCK:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


@contextlib.contextmanager
def staging(layout: Layout) -> Iterator[Path]:
    """The staging folder, locked for this run and emptied before and after."""
    folder = ensure_private_dir(layout.backup_staging, share=False)
    fd = os.open(folder / _LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise VaultBusy("another backup of this vault is running") from None
        _clear(folder)  # what a killed run left
        try:
            yield folder
        finally:
            _clear(folder)
    finally:
        os.close(fd)


def sweep_staging(layout: Layout) -> bool:
    """Remove what a killed backup left in the staging folder (a catalog copy
    that may hold a header shredded since). A running backup keeps its files:
    it removes shredded headers from its copy itself. True if swept."""
    folder = layout.backup_staging
    try:
        fd = os.open(folder / _LOCK, os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        _clear(folder)
        return True
    finally:
        os.close(fd)


def latest_backups(raw: list[bytes]) -> list[dict[str, str]]:
    """From ``backup.taken`` entries: each destination and when it was last updated."""
    latest: dict[str, str] = {}
    for data in raw:
        try:
            entry = json.loads(data)
            where, when = entry["details"]["destination"], entry["time"]
        except (ValueError, KeyError, TypeError):
            continue
        if isinstance(where, str) and isinstance(when, str):
            latest[where] = when
    return [{"destination": d, "updated_at": t} for d, t in sorted(latest.items())]
