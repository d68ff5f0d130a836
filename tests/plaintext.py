"""Searching the disk for a clip's plaintext: what a view must never leave behind.

A viewed clip's bytes may exist only in memory and in pipes. These helpers
look for a slice of the plaintext in every regular file under the given
folders (the vault, the temporary folders, the RAM folders) that changed
since the test began, so a copy written anywhere there is found.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

MAX_FILE = 256 << 20


def probes(plaintext: bytes) -> list[bytes]:
    """Three 256-byte slices of *plaintext*: its start, middle and end."""
    size = 256
    mid = max(0, len(plaintext) // 2 - size // 2)
    return [plaintext[:size], plaintext[mid : mid + size], plaintext[-size:]]


def view_roots(*extra: Path) -> list[Path]:
    """Every folder a decrypted copy could plausibly be written to, plus *extra*."""
    roots = [Path(tempfile.gettempdir()), Path("/tmp"), Path("/dev/shm"), Path("/var/tmp")]  # noqa: S108
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        roots.append(Path(runtime))
    roots.extend(extra)
    return list(dict.fromkeys(r for r in roots if r.is_dir()))


def _other_pytest_run(folder: Path, own: set[Path]) -> bool:
    """*folder* is another pytest run's base temp folder (``pytest-of-USER/pytest-N``).

    A second test suite running on the same machine at the same time makes
    its own clips there, some with the same bytes; they are not this test's.
    """
    return (
        folder.parent.name.startswith("pytest-of-")
        and re.fullmatch(r"pytest-\d+", folder.name) is not None
        and folder not in own
    )


def files_holding(plaintext: bytes, roots: Iterable[Path], since: float) -> list[Path]:
    """The files under *roots* changed at or after *since* that hold a slice of *plaintext*."""
    wanted = probes(plaintext)
    found = []
    roots = list(roots)
    own = {p for r in roots for p in (r, *r.absolute().parents)}
    for root in roots:
        for folder, dirs, names in os.walk(root, onerror=lambda _e: None):
            dirs[:] = [d for d in dirs if not _other_pytest_run(Path(folder, d), own)]
            for name in names:
                path = Path(folder, name)
                try:
                    st = path.lstat()
                    if not path.is_file() or path.is_symlink() or st.st_size > MAX_FILE:
                        continue
                    if max(st.st_mtime, st.st_ctime) < since - 1:
                        continue
                    data = path.read_bytes()
                except OSError:
                    continue
                if any(p in data for p in wanted):
                    found.append(path)
    return found
