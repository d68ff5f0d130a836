"""Walking drop folders for candidate clips, without following symlinks."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from vault.ingest.folders import DIR_FLAGS, FolderProblem, open_drop_folder
from vault.ingest.policy import is_ignored_name


def candidates(root: Path, recorded: str | None = None) -> Iterator[tuple[Path, os.stat_result]]:
    """Regular files under *root* with names that are not hidden or temporary.

    The walk goes by descriptors opened without following links, from a root
    checked against its recorded identity (see vault.ingest.folders): a root
    that is missing, a symlink or replaced yields nothing. Symlinks (to files
    or folders), FIFOs, sockets and devices are skipped; a folder that
    vanishes or cannot be read mid-walk is skipped too.
    """
    try:
        root_fd = open_drop_folder(root, recorded)
    except FolderProblem:
        return
    stack = [(root, root_fd)]
    try:
        while stack:
            folder, fd = stack.pop()
            try:
                try:
                    entries = list(os.scandir(fd))
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
                        with contextlib.suppress(OSError):
                            stack.append(
                                (folder / entry.name, os.open(entry.name, DIR_FLAGS, dir_fd=fd))
                            )
                    elif stat.S_ISREG(st.st_mode):
                        yield folder / entry.name, st
            finally:
                os.close(fd)
    finally:
        for _folder, fd in stack:
            os.close(fd)


def owner_folder(path: Path, folders: list[Path]) -> Path | None:
    """The drop folder *path* lies under, or None (then it is not ours)."""
    for folder in folders:
        if folder in path.parents:
            rel = path.relative_to(folder).parts
            if any(is_ignored_name(p) for p in rel):
                return None
            return folder
    return None
