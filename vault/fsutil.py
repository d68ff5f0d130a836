"""The vault's filesystem mechanisms, each in one place.

* Durable writes (:class:`AtomicFile`, :func:`atomic_writer`,
  :func:`write_atomic`): a temp file, fsynced, renamed into place, the
  folder fsynced; readers see the old file or the whole new one.
* Durable renames and removals (:func:`replace_durably`,
  :func:`unlink_durably`): the folder is fsynced so the change survives a
  power cut.
* Opening outside files (:func:`open_regular`, :func:`read_regular`): a
  regular file only, never through a symlink, never blocking on a FIFO, a
  bounded read.
* The modes of a vault's files and folders (private, or shared with the
  daemon's group in the two-user deployment).
"""

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


#: Set for a process working on a vault shared with its daemon's group (the
#: two-user deployment): see :func:`share_with_group`.
_SHARED = False
#: A shared vault's folders: the group may enter and write, new files take the
#: folder's group (setgid), others get nothing.
SHARED_DIR_MODE = 0o2770


def share_with_group() -> None:
    """Make this process create the vault's files for its group too.

    In the two-user deployment the owner and the daemon's system user share a
    group that owns the vault folder (setgid, 2770). Files the daemon writes
    must be readable by the owner's commands and the reverse, so the process
    umask keeps group bits and :func:`private_mode` adds them. Others never
    get any access, and what lies outside the vault (exports, the owner's
    configuration folder) stays private to its user.
    """
    global _SHARED
    _SHARED = True
    os.umask(0o007)


def group_id(name: str) -> int:
    """The id of group *name* (a name or a number), or UsageError."""
    import grp

    from vault.errors import UsageError

    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        if name.isdigit():
            return int(name)
        raise UsageError(f"--group: no group named {name!r}") from None


def is_shared_folder(path: Path) -> bool:
    """True for a vault folder set up for the two-user deployment."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return mode & SHARED_DIR_MODE == SHARED_DIR_MODE


def private_mode(mode: int, *, group_write: bool = True, share: bool = True) -> int:
    """*mode* for a file of the vault: as given, or with the group's share of it."""
    if not (_SHARED and share):
        return mode
    return mode | ((mode & (0o600 if group_write else 0o400)) >> 3)


def ensure_private_dir(path: Path, *, share: bool = True, group_write: bool = True) -> Path:
    """Create *path* (and any missing parents) with mode 0700 (2770 in a shared
    vault, 2750 without *group_write*); tighten *path* itself if it exists.
    Parents that already exist are left as they are."""
    shared = _SHARED and share
    mode = (SHARED_DIR_MODE if group_write else 0o2750) if shared else 0o700
    missing = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        folder.mkdir(mode=mode, exist_ok=True)
        os.chmod(folder, mode)  # mkdir's mode is filtered by the umask
    if path.stat().st_mode & 0o7777 & ~mode:
        with contextlib.suppress(PermissionError):  # a shared folder the other user made
            path.chmod(mode)
    return path


def storage_error(exc: OSError, what: str) -> StorageError:
    reason = "the disk is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else exc.strerror
    return StorageError(f"{what}: {reason}")


class AtomicFile:
    """A file being written durably: :meth:`commit` puts it in place whole.

    The temp file lives in *tmp_dir* (by default the target's folder; it must
    be on the same filesystem, so the rename is atomic), is fsynced before
    the rename, and the target's folder is fsynced after it so the new name
    survives a power cut. :meth:`abort` (or a commit that fails) removes it.
    """

    def __init__(
        self,
        path: Path,
        *,
        mode: int = 0o600,
        readonly: bool = False,
        share: bool = True,
        group_write: bool = True,
        tmp_dir: Path | None = None,
        buffering: int = -1,
    ) -> None:
        self.path = path
        folder = path.parent if tmp_dir is None else tmp_dir
        self.tmp_path = folder / f".{path.name}.{secrets.token_hex(6)}.tmp"
        self._mode = private_mode(mode, share=share, group_write=group_write)
        self._readonly = readonly
        fd = os.open(self.tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, self._mode)
        self.file: BinaryIO = os.fdopen(fd, "wb", buffering=buffering)
        self.committed = False

    def commit(self) -> Path:
        """Make the written bytes durable under the target name; OSError if that fails."""
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            if self._readonly:
                os.chmod(self.tmp_path, self._mode & 0o444)
            replace_durably(self.tmp_path, self.path)
        except BaseException:
            self.abort()
            raise
        self.committed = True
        return self.path

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp_path)


@contextlib.contextmanager
def atomic_writer(
    path: Path,
    *,
    mode: int = 0o600,
    readonly: bool = False,
    share: bool = True,
    group_write: bool = True,
) -> Iterator[BinaryIO]:
    """Write *path* atomically (see :class:`AtomicFile`): yields the file to write to."""
    pending = AtomicFile(path, mode=mode, readonly=readonly, share=share, group_write=group_write)
    try:
        yield pending.file
    except BaseException:
        pending.abort()
        raise
    pending.commit()


def replace_durably(source: Path, target: Path) -> None:
    """Rename *source* over *target* and fsync the folder, so the rename survives."""
    os.replace(source, target)
    fsync_dir(target.parent)


def unlink_durably(path: Path) -> bool:
    """Remove *path* and fsync its folder; False if it was not there."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    fsync_dir(path.parent)
    return True


def write_atomic(
    path: Path, data: bytes, *, mode: int = 0o600, share: bool = True, group_write: bool = True
) -> None:
    try:
        with atomic_writer(path, mode=mode, share=share, group_write=group_write) as f:
            f.write(data)
    except OSError as exc:
        raise storage_error(exc, f"cannot write {path}") from exc


def open_regular(
    path: Path | str, *, follow_symlinks: bool = False, dir_fd: int | None = None
) -> BinaryIO:
    """*path* opened for reading, if it is a regular file.

    Outside files are opened this way: a FIFO would block the reader forever
    and a device (``/dev/zero``) never ends, so both are refused before a byte
    is read (``O_NONBLOCK`` makes opening a FIFO return at once). Unless
    *follow_symlinks*, a symlink is refused too (ELOOP). With *dir_fd*,
    *path* is a name in that open folder.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    f = os.fdopen(os.open(path, flags, dir_fd=dir_fd), "rb")
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
