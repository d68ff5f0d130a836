"""Playing a previewed clip in the system's video player.

The decrypted clip exists as a file only while it is being played: it is
written 0600 into a fresh 0700 folder, handed to the player, and removed when
the player exits, when the preview closes, or when the app stops, whichever
comes first. Launchers such as ``xdg-open`` return at once while the player
they start still needs the file, so for them removal waits for the preview
to close.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

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


class TempClips:
    """Private temporary files of decrypted clips; :meth:`remove_all` at exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dirs: set[Path] = set()

    def write(self, data: bytes, suffix: str) -> Path:
        """Write *data* to a new 0600 file in a new 0700 folder."""
        folder = Path(tempfile.mkdtemp(prefix="ringfence-view-"))  # mode 0700
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
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        ).returncode
    return 127
