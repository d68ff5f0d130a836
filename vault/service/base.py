"""The state every part of the service shares: the open vault."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from vault.audit.log import AuditLog
from vault.audit.note import NoteSigner
from vault.catalog.db import reader
from vault.config import Config, Layout
from vault.errors import PassphraseError
from vault.keys import OwnerKeys, device_key_name, load_device_key
from vault.store import BlobStore


class VaultBase:
    """An open vault: folder layout, configuration, catalog, store and audit log.

    The owner's keys are held only after :meth:`unlock`, and only in memory.
    """

    def __init__(
        self,
        layout: Layout,
        config: Config,
        engine: Engine,
        store: BlobStore,
        audit: AuditLog,
        *,
        clock: Callable[[], datetime],
        actor: str = "owner",
    ) -> None:
        self.layout = layout
        self.config = config
        self.engine = engine
        self.reader = reader(engine)  # for reads: a snapshot, never the write lock
        self.store = store
        self.audit = audit
        self.clock = clock
        self.actor = actor
        self._owner: OwnerKeys | None = None
        self._device: NoteSigner | None = None

    @property
    def root(self) -> Path:
        return self.layout.root

    # --- keys -------------------------------------------------------------

    @property
    def unlocked(self) -> bool:
        return self._owner is not None

    def owner_keys(self) -> OwnerKeys:
        if self._owner is None:
            raise PassphraseError("the vault is locked: the owner's passphrase is needed")
        return self._owner

    def lock(self) -> None:
        """Forget the owner's keys."""
        self._owner = None

    def device_signer(self) -> NoteSigner:
        if self._device is None:
            self._device = NoteSigner(
                device_key_name(self.config.origin), load_device_key(self.layout)
            )
        return self._device

    def signers(self) -> list[NoteSigner]:
        """Who signs checkpoints now: the device always, the owner when unlocked."""
        out = [self.device_signer()]
        if self._owner is not None:
            out.append(self._owner.signer(self.config.origin))
        return out

    def verifier_keys(self) -> list[str]:
        return [self.config.owner_verifier, self.config.device_verifier]

    def checkpoint(self) -> str | None:
        """Sign the log's current state with whoever can sign now."""
        return self.audit.checkpoint(self.signers())

    def close(self) -> None:
        self.lock()
        self.engine.dispose()
