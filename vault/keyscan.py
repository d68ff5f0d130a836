"""Searching files for wrapped file keys, and why the live catalog is searched
from a child process.

A shred proves its work by searching catalog.db, catalog.db-wal and
catalog.db-shm for the wrapped keys it deleted (vault.service.retention).
Those files cannot be opened and closed by a process that has SQLite
connections to them: POSIX advisory locks belong to a process and a file,
and closing *any* descriptor of the file drops every lock the process holds
on it, its connections' included. The next process to close the catalog then
takes itself for the last user, deletes the -shm and -wal under the open
connections, and what this process writes afterwards goes to a deleted file
no other process sees. So :func:`live_copies` reads them in a short-lived
child that holds no lock, started with ``python -I`` and an empty
environment; the keys travel on its stdin, never in argv.

Standard library only: the child imports this module and nothing else of
ringfence.
"""

from __future__ import annotations

import json
import mmap
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

#: Any copy that could still open a payload holds the stanza's ephemeral share,
#: then a newline, then the wrapped key (a 32-byte body line in base64): so this
#: finds every such copy, whole or as a fragment, in one pass over the file.
SEARCH = re.compile(rb"\n([A-Za-z0-9+/]{43})")
#: The wrapped key lines of an age header (one per recipient stanza).
KEY_LINE = re.compile(rb"\n([A-Za-z0-9+/]{43})(?=\n)")
#: How long the child may take over the catalog's files (a large catalog, a slow disk).
CHILD_TIMEOUT_S = 600
#: The most the child's answer may be: one short line per file.
_ANSWER_LIMIT = 1 << 16
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
_CHILD = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from vault.keyscan import child_main; child_main()"
)


def key_lines(header: bytes) -> set[bytes]:
    """The wrapped file keys of an age header (one per recipient stanza)."""
    return set(KEY_LINE.findall(header))


class ScanError(Exception):
    """The child that searches the catalog's files failed."""


def holds_any_key(path: Path, keys: set[bytes]) -> bool:
    """Whether the file at *path* holds any of *keys*, whole or as the start of
    a fragment: one pass over the file. Only for files no SQLite connection
    of this process has open (see the module's note)."""
    if not keys or path.stat().st_size == 0:
        return False
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return any(m.group(1) in keys for m in SEARCH.finditer(data))


def live_copies(paths: Iterable[Path], keys: set[bytes]) -> list[Path]:
    """Those of *paths* that hold any of *keys*, searched by a child process, so
    this process's SQLite locks on them stay in place. A file that vanishes
    before the child reads it holds nothing."""
    paths = list(paths)
    if not keys or not paths:
        return []
    request = json.dumps(
        {"paths": [os.fspath(p) for p in paths], "keys": sorted(k.decode("ascii") for k in keys)}
    ).encode()
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and code, no shell
            [sys.executable, "-I", "-c", _CHILD, _PACKAGE_ROOT],
            input=request,
            capture_output=True,
            env={},
            timeout=CHILD_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ScanError(
            f"the search of the catalog's files did not run ({type(exc).__name__})"
        ) from None
    if done.returncode != 0 or len(done.stdout) > _ANSWER_LIMIT:
        last = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise ScanError(f"the search of the catalog's files failed: {last[0][:200]}")
    try:
        found = json.loads(done.stdout)
    except ValueError:
        raise ScanError("the search of the catalog's files gave no answer") from None
    if not isinstance(found, list) or len(found) != len(paths):
        raise ScanError("the search of the catalog's files gave no answer")
    return [p for p, hit in zip(paths, found, strict=True) if hit is True]


def child_main() -> None:
    """The child's side of :func:`live_copies`: a JSON request on stdin, one
    boolean per path on stdout."""
    request = json.loads(sys.stdin.buffer.read())  # the parent's own request
    keys = {k.encode("ascii") for k in request["keys"]}
    out: list[bool] = []
    for name in request["paths"]:
        try:
            out.append(holds_any_key(Path(name), keys))
        except FileNotFoundError:
            out.append(False)
    sys.stdout.write(json.dumps(out))
