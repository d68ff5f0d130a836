"""What every screen of the app shares: the vault, the clock, off-thread calls."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from textual.screen import ModalScreen, Screen

from tui.calls import VaultCalls

if TYPE_CHECKING:
    from tui.app import RingfenceApp
    from vault.service import AppVault

ResultT = TypeVar("ResultT")


class _VaultAccess:
    app: Any

    @property
    def rf(self) -> RingfenceApp:
        return self.app

    @property
    def vault(self) -> AppVault:
        return self.rf.vault

    def now(self) -> datetime:
        """The vault's clock (injected, so tests see fixed times)."""
        return self.rf.vault.clock()


class VaultScreen(_VaultAccess, VaultCalls, Screen[None]):
    """A full screen of the app."""


class VaultModal(_VaultAccess, VaultCalls, ModalScreen[ResultT], Generic[ResultT]):
    """A dialog over the current screen; dismissed with its result."""
