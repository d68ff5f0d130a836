"""Playing a previewed clip in the system's video player.

The decrypted clip exists as a file only while it is being played: it is
written 0600 into a fresh 0700 folder in memory (:func:`view_root`: the
user's private ``$XDG_RUNTIME_DIR``, else ``/dev/shm``; never the disk where
a system has either), handed to the player, and removed when the player
exits, when the preview closes, or when the app stops, whichever comes first.
Launchers such as ``xdg-open`` return at once while the player they start
still needs the file, so for them removal waits for the preview to close.
The player gets the app's environment without any passphrase variable
(vault.hardening.child_env).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import stat
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

from vault.hardening import child_env

PLAYERS = (
    ["mpv", "--really-quiet"],
    ["vlc", "--play-and-exit"],
    ["ffplay", "-autoexit", "-loglevel", "quiet"],
    ["xdg-open"],
    ["open"],
)
LAUNCHERS = frozenset({"xdg-open", "open"})


def find_player(env: Mapping[str, str] | None = None) -> list[str] | None:
    """The command that plays a file given as its last argument, or None.

    ``RINGFENCE_PLAYER`` (e.g. ``"mpv --loop"``) wins over the usual players.
    """
    env = os.environ if env is None else env
    custom = env.get("RINGFENCE_PLAYER")
    if custom:
        return shlex.split(custom)
    for cmd in PLAYERS:
        if shutil.which(cmd[0]):
            return list(cmd)
    return None


def is_launcher(command: list[str]) -> bool:
    return Path(command[0]).name in LAUNCHERS


PREFIX = "ringfence-view-"
SHM = Path("/dev/shm")  # noqa: S108 - a tmpfs; each copy gets its own 0700 folder (mkdtemp)


def view_root(env: Mapping[str, str] | None = None) -> Path:
    """Where decrypted preview copies go: a folder in RAM, private to this user.

    ``$XDG_RUNTIME_DIR`` when it is a real folder of this user that nobody
    else may enter (a tmpfs the login session owns), else ``/dev/shm``
    (a tmpfs; each copy gets its own 0700 folder there). Only a system with
    neither falls back to the temporary folder, which may be on disk.
    """
    env = os.environ if env is None else env
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        try:
            st = os.stat(runtime, follow_symlinks=False)
        except OSError:
            st = None
        if (st is not None and stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid()
                and not st.st_mode & 0o077):
            return Path(runtime)
    if SHM.is_dir() and os.access(SHM, os.W_OK | os.X_OK):
        return SHM
    return Path(tempfile.gettempdir())


def sweep_stale(tmp: Path | None = None) -> int:
    """Remove view folders left by an app that was killed (its pid is gone).

    Each folder's name carries the pid of the app that made it; only folders
    of this user whose app no longer runs are removed. Without *tmp*, both
    the RAM folder and the temporary folder (where copies used to go).
    """
    if tmp is None:
        roots = dict.fromkeys([view_root(), Path(tempfile.gettempdir())])
        return sum(sweep_stale(root) for root in roots)
    removed = 0
    try:
        entries = list(os.scandir(tmp))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(PREFIX):
            continue
        pid_text = entry.name[len(PREFIX):].split("-", 1)[0]
        try:
            st = entry.stat(follow_symlinks=False)
            pid = int(pid_text)
        except (OSError, ValueError):
            continue
        if not entry.is_dir(follow_symlinks=False) or st.st_uid != os.getuid():
            continue
        if _alive(pid):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed += 1
    return removed


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class TempClips:
    """Private temporary files of decrypted clips; :meth:`remove_all` at exit.

    Making one first sweeps what a killed app left behind.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dirs: set[Path] = set()
        sweep_stale()

    def write(self, data: bytes, suffix: str) -> Path:
        """Write *data* to a new 0600 file in a new 0700 folder."""
        folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=view_root()))  # 0700
        with self._lock:
            self._dirs.add(folder)
        path = folder / f"clip{suffix}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return path

    def remove(self, path: Path) -> None:
        folder = path.parent
        with self._lock:
            if folder not in self._dirs:
                return
            self._dirs.discard(folder)
        shutil.rmtree(folder, ignore_errors=True)

    def remove_all(self) -> None:
        with self._lock:
            folders = list(self._dirs)
            self._dirs.clear()
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)

    def __len__(self) -> int:
        with self._lock:
            return len(self._dirs)


def play(command: list[str], path: Path) -> int:
    """Run the player on *path* and wait for it; its exit status."""
    with contextlib.suppress(FileNotFoundError):
        return subprocess.run(
            [*command, str(path)],
            env=child_env(),  # no passphrase variable: the player has no business with one
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        ).returncode
    return 127
