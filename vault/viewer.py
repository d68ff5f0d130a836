"""Handing a decrypted clip to a video player through a pipe, never a file.

``clips view`` and the terminal app's "play in player" key both run the
player with the plaintext on its standard input (``mpv -``, ``ffplay -``,
``vlc -``, or any command line the owner gives), so no decrypted byte is
written to disk, not even to a temporary folder. The player receives the
environment without any passphrase variable (vault.hardening.child_env).
A player that stops reading (the owner quit it) ends the view quietly.

A pipe cannot be read backwards, and most cameras write an MP4's index
(``moov``) after its frames: a player must keep the whole clip to reach the
index and come back. mpv does, given a byte buffer as large as the clip
(:func:`sized_for` adds it); ffplay and vlc cannot (docs/cli.md, clips view).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO

from vault.errors import UsageError
from vault.hardening import child_env
from vault.jsonout import json_name

PLAYERS: tuple[tuple[str, ...], ...] = (("mpv", "-"), ("ffplay", "-"), ("vlc", "-"))
"""The players tried in turn when none is named, each reading the clip from stdin."""
PLAYER_VARIABLE = "RINGFENCE_PLAYER"
#: mpv's largest --stream-buffer-size.
MPV_MAX_BUFFER = 512 << 20


def parse_command(text: str, what: str = "--player") -> list[str]:
    """*text* split as a shell would (no shell runs it), or UsageError."""
    try:
        command = shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"{what}: {exc}") from None
    if not command:
        raise UsageError(f"{what} is empty")
    return command


def find_player(env: Mapping[str, str] | None = None) -> list[str] | None:
    """The player to use when none is named: ``$RINGFENCE_PLAYER`` if set, else the
    first of :data:`PLAYERS` on the PATH, else None.

    The players of :data:`PLAYERS` open a window: on a machine without a display
    (a headless box over SSH) one is not started, where it would fail or wait
    for a window that never comes; UsageError says what to give instead.
    """
    env = os.environ if env is None else env
    custom = env.get(PLAYER_VARIABLE)
    if custom:
        return parse_command(custom, PLAYER_VARIABLE)
    for cmd in PLAYERS:
        if shutil.which(cmd[0], path=env.get("PATH")):
            if not has_display(env):
                raise UsageError(
                    f"{cmd[0]} needs a display and this session has none (DISPLAY and "
                    "WAYLAND_DISPLAY are unset): name a player that shows the clip "
                    'elsewhere, e.g. --player "ssh laptop mpv --stream-buffer-size=512MiB -", or set '
                    + PLAYER_VARIABLE
                )
            return list(cmd)
    return None


def has_display(env: Mapping[str, str]) -> bool:
    """Whether a windowed player can show anything here."""
    return sys.platform == "darwin" or bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def sized_for(command: list[str], size: int) -> list[str]:
    """*command*, with mpv given a byte buffer that holds the whole clip of *size*
    bytes (up to mpv's largest), so that it reaches an index at the clip's end
    and seeks back to the frames; any other command unchanged, and mpv too when
    its command line already sets the buffer."""
    if os.path.basename(command[0]) != "mpv" or any(
        a.startswith("--stream-buffer-size") for a in command
    ):
        return command
    buffer = min(max(size + (1 << 16), 1 << 20), MPV_MAX_BUFFER)
    return [command[0], f"--stream-buffer-size={buffer}", *command[1:]]


@dataclass(frozen=True)
class Played:
    """How a view through a player ended."""

    command: list[str] = field(metadata=json_name("player"))
    exit_code: int
    bytes_sent: int
    complete: bool
    """False when the player stopped reading before the clip's end."""
    sha256: str | None
    """The SHA-256 of what was sent, when the whole clip was (it equals the clip's)."""


class _Counting:
    """The player's stdin (unbuffered), counting every byte the pipe took, also
    of a write the player cut short by closing its end."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self._pipe = pipe
        self.count = 0

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            n = self._pipe.write(view)  # partial when the pipe is full
            if n is None:  # not a non-blocking pipe: cannot happen, but never spin
                raise BrokenPipeError("the player's input took nothing")
            self.count += n
            view = view[n:]
        return len(data)

    def flush(self) -> None:
        self._pipe.flush()


class PlayerProcess:
    """A running player with the clip on its standard input.

    :meth:`stop` ends it (the terminal app calls it when the preview closes or
    the vault locks: the player holds plaintext in its memory).
    """

    def __init__(self, command: list[str], *, stdout: Any = None, stderr: Any = None) -> None:
        self.command = command
        try:
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                bufsize=0,  # each write goes to the pipe as it is made, and is counted
                stdout=stdout,
                stderr=stderr,
                env=child_env(),  # no passphrase variable: the player has no business with one
                start_new_session=stdout is subprocess.DEVNULL,
            )
        except FileNotFoundError:
            raise UsageError(f"no such player: {command[0]}") from None
        except PermissionError:
            raise UsageError(f"cannot run the player {command[0]}: permission denied") from None

    def feed(self, write: Callable[[BinaryIO], tuple[int, str] | None]) -> Played:
        """Run *write* on the player's stdin, close it and wait for the player.

        *write* returns the size and SHA-256 it wrote, or None. A player that
        closes its input early (BrokenPipeError) is not an error.
        """
        assert self._proc.stdin is not None
        sink = _Counting(self._proc.stdin)
        complete, digest = True, None
        try:
            try:
                written = write(sink)  # type: ignore[arg-type]
                digest = written[1] if written else None
                self._proc.stdin.flush()
            except BrokenPipeError:
                complete = False
            finally:
                with contextlib.suppress(BrokenPipeError, OSError):
                    self._proc.stdin.close()
            code = self._proc.wait()
        except BaseException:
            self.stop()
            raise
        return Played(self.command, code, sink.count, complete, digest if complete else None)

    def stop(self) -> None:
        """End the player now (terminate, then kill) and reap it."""
        if self._proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self._proc.terminate()
        try:
            self._proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            self._proc.wait()

    @property
    def running(self) -> bool:
        return self._proc.poll() is None
