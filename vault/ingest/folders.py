"""Drop folders are what they were: opened without following any symlink and
compared with the device and inode recorded at ``camera add``.

The daemon deletes what it seals, so a drop folder swapped for a symlink (or
a parent folder swapped for one) must never make it seal and remove files from
the link's target. Every folder is opened one path component at a time with
``O_NOFOLLOW``, and every clip is opened beneath that descriptor the same way,
so a swap after the check changes nothing: the daemon keeps working in the
folder it verified.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from vault.errors import RingfenceError
from vault.ingest.policy import display_name

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# The folders above a drop folder are only passed through: O_PATH needs search
# permission alone (a home folder of mode 0711 is fine), where O_RDONLY needs read.
_PASS_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC

#: Why a drop folder is skipped (the keys of ``FolderProblem.kind``).
MISSING = "missing"
SYMLINK = "symlink"
REPLACED = "replaced"
NOT_A_FOLDER = "not a folder"
UNREADABLE = "unreadable"


class FolderProblem(RingfenceError):
    """A drop folder cannot be used as it is now; nothing in it is touched."""

    def __init__(self, path: Path, kind: str, detail: str) -> None:
        super().__init__(f"drop folder {display_name(str(path))} {detail}")
        self.path = path
        self.kind = kind


def identity_of(st: os.stat_result) -> str:
    """A folder's identity as the catalog keeps it: ``device:inode``."""
    return f"{st.st_dev}:{st.st_ino}"


def _classify(parent_fd: int, name: str, path: Path, exc: OSError) -> FolderProblem:
    if isinstance(exc, FileNotFoundError):
        return FolderProblem(path, MISSING, "is missing")
    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
        try:
            st = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
        except OSError:
            return FolderProblem(path, MISSING, "is missing")
        if stat.S_ISLNK(st.st_mode):
            return FolderProblem(
                path, SYMLINK, "is a symlink (or lies under one): it is not followed"
            )
        return FolderProblem(path, NOT_A_FOLDER, "is not a folder")
    return FolderProblem(path, UNREADABLE, f"cannot be opened: {exc.strerror}")


def open_dir_nofollow(path: Path) -> int:
    """A descriptor of the folder at absolute *path*, where no component of
    the path is a symlink. Raises :class:`FolderProblem`."""
    if not path.is_absolute():
        raise FolderProblem(path, UNREADABLE, "is not an absolute path")
    parts = path.parts[1:]
    fd = os.open("/", DIR_FLAGS if not parts else _PASS_FLAGS)
    try:
        for i, part in enumerate(parts):
            flags = DIR_FLAGS if i == len(parts) - 1 else _PASS_FLAGS
            try:
                nxt = os.open(part, flags, dir_fd=fd)
            except OSError as exc:
                raise _classify(fd, part, path, exc) from None
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_drop_folder(path: Path, recorded: str | None) -> int:
    """Open a drop folder and check it is the one recorded at ``camera add``.

    *recorded* None (a folder added before identities were kept) skips the
    comparison; the caller records what it found.
    """
    fd = open_dir_nofollow(path)
    if recorded is not None and identity_of(os.fstat(fd)) != recorded:
        os.close(fd)
        raise FolderProblem(
            path,
            REPLACED,
            "is not the folder recorded at `camera add` (it was replaced); if the new "
            "folder is right, run `ringfence camera add` with the same camera and folder "
            "to record it",
        )
    return fd


def check_drop_folder(path: Path, recorded: str | None) -> str:
    """The identity of the drop folder at *path* if it may be used now."""
    fd = open_drop_folder(path, recorded)
    try:
        return identity_of(os.fstat(fd))
    finally:
        os.close(fd)


@contextlib.contextmanager
def folder_beneath(folder_fd: int, parts: tuple[str, ...], path: Path) -> Iterator[int]:
    """The subfolder *parts* of an open folder, each step without following a
    symlink; yields its descriptor (closed afterwards)."""
    fd = os.dup(folder_fd)
    try:
        for part in parts:
            try:
                nxt = os.open(part, DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                raise _classify(fd, part, path, exc) from None
            os.close(fd)
            fd = nxt
        yield fd
    finally:
        os.close(fd)


@dataclass(frozen=True)
class FolderStatus:
    """What ``status`` shows for one drop folder."""

    camera: str
    path: str
    problem: str | None  # None, or one of the kinds above
    message: str | None

    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = ("missing",)

    @property
    def missing(self) -> bool:
        return self.problem == MISSING


def folder_status(camera: str, path: Path, recorded: str | None) -> FolderStatus:
    try:
        check_drop_folder(path, recorded)
    except FolderProblem as exc:
        return FolderStatus(camera, str(path), exc.kind, exc.message)
    return FolderStatus(camera, str(path), None, None)
