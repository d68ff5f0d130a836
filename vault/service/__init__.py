"""The service layer: every operation the CLI, the TUI and the daemon perform.

``Vault`` (vault.service.vault) composes one service per concern (cameras,
clips, requests, holds, releases, retention, status). Each is a plain class
that receives what it uses in its constructor: the frozen
:class:`VaultContext`, the :class:`Keyring` (the only holder of keys) and the
other services it calls.

The names below are loaded when first used, not when this package is
imported: a command that needs only one service (``status``, which reads the
catalog without SQLAlchemy) does not pay for the others.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vault.requests import RELEASABLE, Status
    from vault.service.api import AppVault, CliVault
    from vault.service.context import VaultContext
    from vault.service.keyring import Keyring
    from vault.service.release import Viewing
    from vault.service.results import (
        CameraInfo,
        ClipInfo,
        DecisionResult,
        ExportResult,
        HoldInfo,
        KeyInfo,
        Recovered,
        RecoveryRevoked,
        RequestInfo,
        ScrubResult,
        ShredResult,
        VaultStatus,
    )
    from vault.service.vault import Vault

#: Each public name and the module that defines it.
_HOMES = {
    "RELEASABLE": "vault.requests",
    "Status": "vault.requests",
    "AppVault": "vault.service.api",
    "CliVault": "vault.service.api",
    "KeyInfo": "vault.service.results",
    "Recovered": "vault.service.results",
    "RecoveryRevoked": "vault.service.results",
    "CameraInfo": "vault.service.results",
    "ClipInfo": "vault.service.results",
    "VaultContext": "vault.service.context",
    "HoldInfo": "vault.service.results",
    "Keyring": "vault.service.keyring",
    "RequestInfo": "vault.service.results",
    "DecisionResult": "vault.service.results",
    "ExportResult": "vault.service.results",
    "ScrubResult": "vault.service.results",
    "ShredResult": "vault.service.results",
    "VaultStatus": "vault.service.results",
    "Vault": "vault.service.vault",
    "Viewing": "vault.service.release",
}

__all__ = [
    "RELEASABLE",
    "AppVault",
    "CameraInfo",
    "CliVault",
    "ClipInfo",
    "DecisionResult",
    "ExportResult",
    "HoldInfo",
    "KeyInfo",
    "Keyring",
    "Recovered",
    "RecoveryRevoked",
    "RequestInfo",
    "ScrubResult",
    "ShredResult",
    "Status",
    "Vault",
    "VaultContext",
    "VaultStatus",
    "Viewing",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'vault.service' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value
