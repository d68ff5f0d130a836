"""What every service of an open vault is built from, fixed for its lifetime."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from vault.audit.log import AuditLog
from vault.config import Config, Layout
from vault.store import BlobStore

#: Makes an identifier of a kind ("clip", "request", ...): ``vault.ids.new_id``,
#: or a deterministic one in tests.
IdMaker = Callable[[str], str]
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class VaultContext:
    """The open vault's parts: folder layout, configuration, catalog engines,
    blob store, audit log, clock and id generator, and who acts.

    *engine* writes; *reader* reads a snapshot and never takes the write lock.
    The clock and the id generator are injected so that tests can fix them;
    the audit log is built with the same clock.
    """

    layout: Layout
    config: Config
    engine: Engine
    reader: Engine
    store: BlobStore
    audit: AuditLog
    clock: Clock
    new_id: IdMaker
    actor: str = "owner"

    @property
    def root(self) -> Path:
        return self.layout.root
