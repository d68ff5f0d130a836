"""Walking drop folders for candidate clips, without following symlinks."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from vault.ingest.policy import is_ignored_name


def candidates(root: Path) -> Iterator[tuple[Path, os.stat_result]]:
    """Regular files under *root* with names that are not hidden or temporary.

    Symlinks (to files or folders), FIFOs, sockets and devices are skipped;
    a folder that vanishes or cannot be read mid-walk is skipped too.
    """
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if is_ignored_name(entry.name):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                stack.append(Path(entry.path))
            elif stat.S_ISREG(st.st_mode):
                yield Path(entry.path), st


def owner_folder(path: Path, folders: list[Path]) -> Path | None:
    """The drop folder *path* lies under, or None (then it is not ours)."""
    for folder in folders:
        if folder in path.parents:
            rel = path.relative_to(folder).parts
            if any(is_ignored_name(p) for p in rel):
                return None
            return folder
    return None
