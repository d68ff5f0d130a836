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
import shlex
import subprocess
import sys
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
            f"cannot read the passphrase file {shown(path)}: {exc.strerror}") from None
    if len(data) > MAX_PASSPHRASE_FILE:
        raise PassphraseError(
            f"the passphrase file {shown(path)} is longer than {MAX_PASSPHRASE_FILE} bytes")
    try:
        return _strip_newline(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise PassphraseError(f"the passphrase file {shown(path)} is not UTF-8") from None


def _run_command(cmd: str) -> str:
    try:
        proc = subprocess.run(
            shlex.split(cmd),
            capture_output=True,
            check=False,
            timeout=120,
            stdin=subprocess.DEVNULL,
            env=child_env(),
        )
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        raise PassphraseError(
            f"the passphrase command failed to run: {type(exc).__name__}"
        ) from None
    if proc.returncode != 0:
        raise PassphraseError(f"the passphrase command exited with status {proc.returncode}")
    try:
        return _strip_newline(proc.stdout.decode("utf-8"))
    except UnicodeDecodeError:
        raise PassphraseError("the passphrase command did not print UTF-8") from None
