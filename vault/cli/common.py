"""What every command shares: opening the vault, passphrases, output."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault.errors import RingfenceError
from vault.passphrase import PassphraseSource
from vault.units import human_size

__all__ = ["CommandError", "human_size", "open_vault", "unlocked_vault"]

if TYPE_CHECKING:  # the service (SQLAlchemy, cryptography) loads only when a command runs
    from vault.service.api import CliVault


class CommandError(RingfenceError):
    """A command ended with a result that is a failure (e.g. a check failed)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def vault_root(args: argparse.Namespace) -> Path | None:
    return Path(args.vault) if args.vault else None


def open_vault(args: argparse.Namespace, actor: str = "owner") -> CliVault:
    from vault.service import Vault

    return Vault.open(vault_root(args), actor=actor)


def passphrase_source(args: argparse.Namespace) -> PassphraseSource:
    return PassphraseSource(file=Path(args.passphrase_file) if args.passphrase_file else None)


def unlocked_vault(args: argparse.Namespace) -> CliVault:
    vault = open_vault(args)
    vault.unlock(passphrase_source(args).get("Passphrase for the ringfence vault"))
    return vault


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON")


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [len(h) for h in headers]
    for r in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, r, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines)
