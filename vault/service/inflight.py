"""Markers for exports in flight: a killed export leaves plaintext in its
staging folder, and its marker lets the next export or daemon start find it."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from pathlib import Path

from vault.fsutil import (
    ensure_private_dir,
    fsync_dir,
    open_regular,
    private_mode,
    storage_error,
)

#: A staging folder's name: ``.<out>.<8 hex>.partial`` beside the export's folder.
_PARTIAL = re.compile(r"\..+\.[0-9a-f]{8}\.partial")


class InFlight:
    """A marker for a running export: ``exports/<id>`` in the vault (0600),
    holding the staging folder's path, flock-ed for as long as the export runs.
    A marker whose lock can be taken belongs to an export that died."""

    DIR = "exports"

    def __init__(self, root: Path, export_id: str, staging: Path) -> None:
        folder = ensure_private_dir(root / self.DIR)
        self.path = folder / export_id
        try:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, private_mode(0o600))
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            os.write(self.fd, os.fsencode(staging))
            os.fsync(self.fd)
            fsync_dir(folder)
        except OSError as exc:
            raise storage_error(exc, "cannot start the export") from exc

    def __enter__(self) -> InFlight:
        return self

    def __exit__(self, *exc: object) -> None:
        # Unlinked while still locked: a sweeper that opened it earlier sees
        # st_nlink == 0 once it gets the lock, and leaves it.
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self.fd)

    @classmethod
    def abandoned(cls, root: Path) -> list[tuple[str, Path]]:
        folder = root / cls.DIR
        try:
            names = sorted(os.listdir(folder))
        except FileNotFoundError:
            return []
        found = []
        for name in names:
            try:
                # Only ever a marker file: a symlink or anything not regular is not ours.
                marker = open_regular(folder / name)
            except OSError:
                continue
            fd = marker.fileno()
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # still running
                if os.fstat(fd).st_nlink == 0:
                    continue  # finished while we waited
                staging = Path(os.fsdecode(os.read(fd, 8192)))
            except OSError:
                continue
            finally:
                marker.close()
            if _PARTIAL.fullmatch(staging.name):  # never anything but a staging folder
                found.append((name, staging))
        return found

    @classmethod
    def forget(cls, root: Path, export_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (root / cls.DIR / export_id).unlink()
