"""Where the owner's passphrase comes from.

Never from argv. In order: ``--passphrase-file``, then the environment
variables ``RINGFENCE_PASSPHRASE_FILE``, ``RINGFENCE_PASSPHRASE_COMMAND``,
``RINGFENCE_PASSPHRASE``, then a prompt on the terminal. A new passphrase
(``init``, ``key passwd``) is asked twice on a terminal; the ``NEW`` variants
of the variables (``RINGFENCE_NEW_PASSPHRASE_FILE`` …) serve scripts.
"""

from __future__ import annotations

import getpass
import os
import selectors
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from vault.errors import PassphraseError
from vault.hardening import child_env, forbid_core_dumps
from vault.safetext import shown

PromptFn = Callable[[str], str]


def _strip_newline(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text


@dataclass
class PassphraseSource:
    """Resolves a passphrase from the first source that is configured."""

    file: Path | None = None
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    prompt: PromptFn | None = None
    prefix: str = "RINGFENCE"
    interactive: bool | None = None

    def _prompt_fn(self) -> PromptFn | None:
        if self.prompt is not None:
            return self.prompt
        interactive = self.interactive
        if interactive is None:
            interactive = sys.stdin.isatty()
        return getpass.getpass if interactive else None

    def _non_interactive(self) -> str | None:
        if self.file is not None:
            return _read_file(self.file)
        path = self.env.get(f"{self.prefix}_PASSPHRASE_FILE")
        if path:
            return _read_file(Path(path))
        cmd = self.env.get(f"{self.prefix}_PASSPHRASE_COMMAND")
        if cmd:
            return _run_command(cmd)
        value = self.env.get(f"{self.prefix}_PASSPHRASE")
        if value is not None:
            return value
        return None

    def get(self, what: str = "Passphrase") -> str:
        forbid_core_dumps()  # the passphrase is a secret too (vault.hardening)
        value = self._non_interactive()
        if value is None:
            ask = self._prompt_fn()
            if ask is None:
                raise PassphraseError(
                    "no passphrase: give --passphrase-file or set RINGFENCE_PASSPHRASE_FILE, "
                    "RINGFENCE_PASSPHRASE_COMMAND or RINGFENCE_PASSPHRASE (no terminal to ask on)"
                )
            value = ask(f"{what}: ")
        if not value:
            raise PassphraseError("the passphrase is empty")
        return value

    def get_new(self, what: str = "New passphrase") -> str:
        """A new passphrase: asked twice on a terminal, refused when empty."""
        forbid_core_dumps()
        value = self._non_interactive()
        if value is None:
            ask = self._prompt_fn()
            if ask is None:
                raise PassphraseError(
                    f"no new passphrase: set {self.prefix}_PASSPHRASE_FILE, "
                    f"{self.prefix}_PASSPHRASE_COMMAND or {self.prefix}_PASSPHRASE"
                )
            value = ask(f"{what}: ")
            if not value:
                raise PassphraseError("the passphrase is empty")
            again = ask(f"{what} (again): ")
            if again != value:
                raise PassphraseError("the two passphrases differ")
        if not value:
            raise PassphraseError("the passphrase is empty")
        return value


#: No passphrase is longer; a longer "file" is a mistake (/dev/zero), not one.
MAX_PASSPHRASE_FILE = 64 << 10


def _read_file(path: Path) -> str:
    """The passphrase in *path*, read with a bound. A pipe is fine (a shell's
    ``<(…)`` gives one); a file that never ends is refused, not read whole."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_PASSPHRASE_FILE + 1)
    except OSError as exc:
        raise PassphraseError(
            f"cannot read the passphrase file {shown(path)}: {exc.strerror}"
        ) from None
    if len(data) > MAX_PASSPHRASE_FILE:
        raise PassphraseError(
            f"the passphrase file {shown(path)} is longer than {MAX_PASSPHRASE_FILE} bytes"
        )
    try:
        return _strip_newline(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise PassphraseError(f"the passphrase file {shown(path)} is not UTF-8") from None


#: How long a passphrase command may take (a password manager asking its own
#: question on the terminal needs a while).
COMMAND_TIMEOUT = 120.0


def _run_command(cmd: str) -> str:
    """What *cmd* prints, read with the same bound as a passphrase file and a
    time limit; the command is stopped when it passes either. Its error output
    is not shown: it might echo what it read."""
    try:
        proc = subprocess.Popen(
            shlex.split(cmd),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=child_env(),
        )
    except (OSError, ValueError) as exc:
        raise PassphraseError(
            f"the passphrase command failed to run: {type(exc).__name__}"
        ) from None
    deadline = time.monotonic() + COMMAND_TIMEOUT
    try:
        data = _read_bounded(proc, deadline)
        if len(data) > MAX_PASSPHRASE_FILE:
            returncode = None  # stopped below; it may print without end
        else:
            returncode = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        raise PassphraseError(
            f"the passphrase command did not finish within {COMMAND_TIMEOUT:g} seconds"
        ) from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
    if len(data) > MAX_PASSPHRASE_FILE:
        raise PassphraseError(
            f"the passphrase command printed more than {MAX_PASSPHRASE_FILE} bytes; "
            f"no passphrase is longer than that"
        )
    if returncode != 0:
        raise PassphraseError(f"the passphrase command exited with status {returncode}")
    try:
        return _strip_newline(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise PassphraseError("the passphrase command did not print UTF-8") from None


def _read_bounded(proc: subprocess.Popen[bytes], deadline: float) -> bytes:
    """Up to MAX_PASSPHRASE_FILE + 1 bytes of *proc*'s output, until it closes
    its output or *deadline* passes (then TimeoutExpired)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    chunks: list[bytes] = []
    got = 0
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while got <= MAX_PASSPHRASE_FILE:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise subprocess.TimeoutExpired(proc.args, COMMAND_TIMEOUT)
            chunk = os.read(fd, MAX_PASSPHRASE_FILE + 1 - got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
    return b"".join(chunks)
