"""Where a backup goes: a mounted folder, or an rclone remote.

A destination holds a copy of the vault's folder (docs/backup.md): the
small files (``config.toml``, ``checkpoint.note``, the key files, the catalog
and the backup's manifest) and the store's payloads under ``store/``, by the
same fan-out names as in the vault. :class:`FolderDestination` writes with
temp files, fsync and rename; :class:`RcloneDestination` runs Debian's
``rclone`` on ``REMOTE:PATH``. Both are plain adapters: what to copy, and
what a backup must never contain, is decided in :mod:`vault.service.backup`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from vault.errors import NotFound, StorageError, UsageError
from vault.fsutil import AtomicFile, fsync_dir, open_regular, storage_error, unlink_durably
from vault.hardening import child_env
from vault.safetext import shown

#: ``rclone:REMOTE:PATH``; the remote's name as rclone allows it (no leading
#: '-', so the argument can never be taken for an option).
RCLONE_PREFIX = "rclone:"
_REMOTE = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_. -]*$")
#: A blob's path under ``store/``: two fan-out folders, then its id (vault.store).
_BLOB = re.compile(r"^[a-z0-9]{2}/[a-z0-9]{2}/[a-z0-9_]{4,64}$")
READ_CHUNK = 1 << 20
#: How much of a small file (manifest, config, catalog copy aside) is ever read.
SMALL_FILE_MAX = 1 << 20


class Destination(Protocol):
    """What a backup needs of the place it writes to."""

    def describe(self) -> str:
        """The destination as the owner named it (for reports and the log)."""
        ...

    def local_path(self, rel: str) -> Path | None:
        """The file itself when the destination is a mounted folder, else None."""
        ...

    def fetch(self, rel: str, local: Path) -> bool:
        """Copy file *rel* to *local*; False when there is no such file."""
        ...

    def put(self, local: Path, rel: str) -> None:
        """Write *local* as *rel*, replacing it whole."""
        ...

    def remove(self, rel: str) -> None:
        """Remove file *rel* if it is there."""
        ...

    def blobs(self) -> dict[str, int]:
        """Every payload under ``store/``: its fan-out path -> its size."""
        ...

    def put_blobs(self, store_root: Path, rels: list[str]) -> None:
        """Copy the payloads *rels* (fan-out paths) from the vault's store."""
        ...

    def delete_blobs(self, rels: list[str]) -> None: ...

    def blob_hashes(self, rels: list[str]) -> dict[str, tuple[int, str]]:
        """SHA-256 and size of each payload in *rels* that is there, read whole."""
        ...

    def fetch_all(self, local: Path, names: Iterable[str]) -> None:
        """Copy the small files *names* and every payload into folder *local*."""
        ...


def parse_destination(text: str) -> Destination:
    """A folder path, or ``rclone:REMOTE:PATH``."""
    if not text or "\x00" in text:
        raise UsageError("the backup destination is empty or not a path")
    if text.startswith(RCLONE_PREFIX):
        spec = text[len(RCLONE_PREFIX) :]
        remote, sep, path = spec.partition(":")
        if not sep or not _REMOTE.match(remote):
            raise UsageError(
                f"{shown(text)}: an rclone destination is rclone:REMOTE:PATH, "
                "with REMOTE a remote of `rclone config`"
            )
        return RcloneDestination(remote, path)
    return FolderDestination(Path(text))


def _blob_rel(rel: str) -> str:
    if not _BLOB.match(rel):
        raise ValueError(f"not a payload path: {rel!r}")
    return rel


class FolderDestination:
    """A mounted folder: a USB disk, a NAS share, another local disk."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return os.path.abspath(self.root)

    def _ensure(self) -> None:
        try:
            if self.root.exists() and not self.root.is_dir():
                raise UsageError(f"{shown(self.root)} is not a folder")
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise storage_error(exc, f"cannot create {shown(self.root)}") from exc

    def local_path(self, rel: str) -> Path | None:
        return self.root / rel

    def fetch(self, rel: str, local: Path) -> bool:
        try:
            src = open_regular(self.root / rel)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise storage_error(exc, f"cannot read {shown(self.root / rel)}") from exc
        with src, open(local, "wb") as out:
            shutil.copyfileobj(src, out, READ_CHUNK)
        return True

    def put(self, local: Path, rel: str) -> None:
        self._ensure()
        target = self.root / rel
        try:
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            pending = AtomicFile(target)
            try:
                with open(local, "rb") as src:
                    shutil.copyfileobj(src, pending.file, READ_CHUNK)
            except BaseException:
                pending.abort()
                raise
            pending.commit()
        except OSError as exc:
            raise storage_error(exc, f"cannot write {shown(target)}") from exc

    def remove(self, rel: str) -> None:
        try:
            unlink_durably(self.root / rel)
        except OSError as exc:
            raise storage_error(exc, f"cannot remove {shown(self.root / rel)}") from exc

    def blobs(self) -> dict[str, int]:
        store = self.root / "store"
        out: dict[str, int] = {}
        if not store.is_dir():
            return out
        for first in _dirs(store):
            for second in _dirs(first):
                with os.scandir(second) as it:
                    for e in it:
                        rel = f"{first.name}/{second.name}/{e.name}"
                        if _BLOB.match(rel) and e.is_file(follow_symlinks=False):
                            out[rel] = e.stat(follow_symlinks=False).st_size
        return out

    def put_blobs(self, store_root: Path, rels: list[str]) -> None:
        self._ensure()
        tmp = self.root / "store" / "tmp"
        try:
            tmp.mkdir(mode=0o700, parents=True, exist_ok=True)
            for rel in rels:
                target = self.root / "store" / _blob_rel(rel)
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                pending = AtomicFile(target, readonly=True, tmp_dir=tmp)
                try:
                    with open_regular(store_root / rel) as src:
                        shutil.copyfileobj(src, pending.file, READ_CHUNK)
                except BaseException:
                    pending.abort()
                    raise
                pending.commit()
        except OSError as exc:
            raise storage_error(exc, f"cannot copy payloads to {shown(self.root)}") from exc

    def delete_blobs(self, rels: list[str]) -> None:
        try:
            for rel in rels:
                path = self.root / "store" / _blob_rel(rel)
                with contextlib.suppress(PermissionError):
                    os.chmod(path, 0o600)
                unlink_durably(path)
        except OSError as exc:
            raise storage_error(exc, f"cannot delete payloads in {shown(self.root)}") from exc

    def blob_hashes(self, rels: list[str]) -> dict[str, tuple[int, str]]:
        out: dict[str, tuple[int, str]] = {}
        for rel in rels:
            try:
                f = open_regular(self.root / "store" / _blob_rel(rel))
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise storage_error(exc, f"cannot read {shown(self.root / rel)}") from exc
            with f:
                out[rel] = _hash_stream(f)
        return out

    def fetch_all(self, local: Path, names: Iterable[str]) -> None:
        for name in names:
            target = local / name
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not self.fetch(name, target):
                raise NotFound(f"the backup in {shown(self.root)} has no {name}")
        store = local / "store"
        for rel in self.blobs():
            target = store / rel
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not self.fetch(f"store/{rel}", target):
                raise NotFound(f"the payload {rel} vanished from {shown(self.root)}")
        with contextlib.suppress(OSError):
            fsync_dir(local)


def _dirs(folder: Path) -> Iterator[Path]:
    with os.scandir(folder) as it:
        names = sorted(
            e.name
            for e in it
            if e.is_dir(follow_symlinks=False) and re.fullmatch(r"[a-z0-9]{2}", e.name)
        )
    for name in names:
        yield folder / name


def _hash_stream(f: object) -> tuple[int, str]:
    digest = hashlib.sha256()
    n = 0
    read = f.read  # type: ignore[attr-defined]
    while chunk := read(READ_CHUNK):
        digest.update(chunk)
        n += len(chunk)
    return n, digest.hexdigest()


class RcloneDestination:
    """``rclone:REMOTE:PATH``: any remote of the owner's ``rclone config``.

    rclone runs with ringfence's child environment (no passphrase variable)
    and is given paths only, never a secret.
    """

    def __init__(self, remote: str, path: str) -> None:
        self.remote = remote
        self.path = path.rstrip("/")

    def describe(self) -> str:
        return f"{RCLONE_PREFIX}{self.remote}:{self.path}"

    def _spec(self, rel: str = "") -> str:
        base = f"{self.remote}:{self.path}"
        if not rel:
            return base
        return f"{base}/{rel}" if self.path else f"{base}{rel}"

    def _run(self, *args: str, what: str, ok_missing: bool = False) -> str | None:
        exe = shutil.which("rclone")
        if exe is None:
            raise StorageError(
                "rclone is not installed (apt-get install rclone): it is "
                "needed for rclone: destinations"
            )
        try:
            proc = subprocess.run(
                [exe, *args],
                env=child_env(),
                capture_output=True,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except OSError as exc:
            raise storage_error(exc, f"cannot run rclone to {what}") from exc
        if proc.returncode == 0:
            return proc.stdout.decode("utf-8", "replace")
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        # rclone's exit 3 is "directory not found", 4 "file not found".
        if ok_missing and proc.returncode in (3, 4):
            return None
        last = err[-1] if err else f"exit {proc.returncode}"
        raise StorageError(f"rclone could not {what} ({self.describe()}): {shown(last[:300])}")

    def local_path(self, rel: str) -> Path | None:
        return None

    def fetch(self, rel: str, local: Path) -> bool:
        listing = self._run(
            "lsjson", "--files-only", self._spec(rel), what=f"look for {rel}", ok_missing=True
        )
        if listing is None or not _parse_listing(listing):
            return False
        self._run("copyto", self._spec(rel), os.fspath(local), what=f"read {rel}")
        return True

    def put(self, local: Path, rel: str) -> None:
        self._run("copyto", os.fspath(local), self._spec(rel), what=f"write {rel}")

    def remove(self, rel: str) -> None:
        listing = self._run(
            "lsjson", "--files-only", self._spec(rel), what=f"look for {rel}", ok_missing=True
        )
        if listing is None or not _parse_listing(listing):
            return  # rclone's deletefile fails (exit 1) on a file that is not there
        self._run("deletefile", self._spec(rel), what=f"remove {rel}")

    def blobs(self) -> dict[str, int]:
        listing = self._run(
            "lsjson",
            "-R",
            "--files-only",
            self._spec("store"),
            what="list the payloads",
            ok_missing=True,
        )
        if listing is None:
            return {}
        return {rel: size for rel, size in _parse_listing(listing).items() if _BLOB.match(rel)}

    def _files_from(self, folder: Path, rels: list[str]) -> Path:
        listing = folder / f".rclone-list-{os.getpid()}"
        listing.write_text("".join(f"{_blob_rel(r)}\n" for r in rels))
        return listing

    def put_blobs(self, store_root: Path, rels: list[str]) -> None:
        if not rels:
            return
        listing = self._files_from(store_root / "tmp", rels)
        try:
            self._run(
                "copy",
                "--no-traverse",
                "--files-from-raw",
                os.fspath(listing),
                os.fspath(store_root),
                self._spec("store"),
                what="copy the payloads",
            )
        finally:
            listing.unlink(missing_ok=True)

    def delete_blobs(self, rels: list[str]) -> None:
        for rel in rels:
            self._run(
                "deletefile",
                self._spec(f"store/{_blob_rel(rel)}"),
                what=f"delete the payload {rel}",
                ok_missing=True,
            )

    def blob_hashes(self, rels: list[str]) -> dict[str, tuple[int, str]]:
        wanted = set(rels)
        if not wanted:
            return {}
        sizes = self.blobs()
        out = self._run(
            "hashsum",
            "sha256",
            "--download",
            self._spec("store"),
            what="hash the payloads",
            ok_missing=True,
        )
        found: dict[str, tuple[int, str]] = {}
        for line in (out or "").splitlines():
            digest, _sep, rel = line.partition("  ")
            if rel in wanted and rel in sizes and re.fullmatch(r"[0-9a-f]{64}", digest):
                found[rel] = (sizes[rel], digest)
        return found

    def fetch_all(self, local: Path, names: Iterable[str]) -> None:
        for name in names:
            target = local / name
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not self.fetch(name, target):
                raise NotFound(f"the backup in {self.describe()} has no {name}")
        (local / "store").mkdir(mode=0o700, exist_ok=True)
        self._run(
            "copy",
            "--exclude",
            "tmp/**",
            self._spec("store"),
            os.fspath(local / "store"),
            what="copy the payloads back",
        )


def _parse_listing(text: str) -> dict[str, int]:
    """``rclone lsjson`` output: path -> size; malformed entries are left out."""
    try:
        items = json.loads(text)
    except ValueError:
        raise StorageError("rclone gave a listing that is not JSON") from None
    out: dict[str, int] = {}
    if not isinstance(items, list):
        return out
    for item in items:
        if not isinstance(item, dict):
            continue
        path, size = item.get("Path"), item.get("Size")
        if isinstance(path, str) and isinstance(size, int) and not item.get("IsDir"):
            out[path] = size
    return out
