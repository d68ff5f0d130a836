"""Durable file writes: temp file, fsync, rename, fsync the folder."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from vault.errors import StorageError


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_private_dir(path: Path) -> Path:
    """Create *path* (and any missing parents) with mode 0700; tighten *path*
    itself if it exists. Parents that already exist are left as they are."""
    missing = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def storage_error(exc: OSError, what: str) -> StorageError:
    reason = "the disk is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else exc.strerror
    return StorageError(f"{what}: {reason}")


@contextlib.contextmanager
def atomic_writer(path: Path, *, mode: int = 0o600, readonly: bool = False) -> Iterator[BinaryIO]:
    """Write *path* atomically: readers see the old file or the whole new one.

    The temp file lives in the same folder (so the rename is atomic), is
    fsynced before the rename, and the folder is fsynced after it so the new
    name survives a power cut.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if readonly:
            os.chmod(tmp, mode & 0o444)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_atomic(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    try:
        with atomic_writer(path, mode=mode) as f:
            f.write(data)
    except OSError as exc:
        raise storage_error(exc, f"cannot write {path}") from exc


def open_regular(path: Path, *, follow_symlinks: bool = False) -> BinaryIO:
    """*path* opened for reading, if it is a regular file.

    Outside files are opened this way: a FIFO would block the reader forever
    and a device (``/dev/zero``) never ends, so both are refused before a byte
    is read (``O_NONBLOCK`` makes opening a FIFO return at once). Unless
    *follow_symlinks*, a symlink is refused too (ELOOP).
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    f = os.fdopen(os.open(path, flags), "rb")
    if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
        f.close()
        raise OSError(errno.EINVAL, "not a regular file")
    return f


def read_regular(path: Path, limit: int, *, follow_symlinks: bool = False) -> bytes:
    """The bytes of the regular file *path*, refused (EFBIG) beyond *limit*."""
    with open_regular(path, follow_symlinks=follow_symlinks) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit} bytes")
    return data
