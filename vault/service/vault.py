"""The vault: one service per concern, composed.

``Vault`` composes one service per concern (cameras, clips, requests, holds,
releases, retention, status). Each is a plain class that receives what it
uses in its constructor: the frozen :class:`VaultContext`, the
:class:`Keyring` (the only holder of keys) and the other services it calls.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from vault import age, ids
from vault.audit import events
from vault.audit.log import AuditLog
from vault.audit.note import NoteSigner
from vault.catalog.db import open_catalog, reader
from vault.config import (
    Config,
    Layout,
    default_vault_dir,
    owner_folder_head_path,
    owner_head_path,
)
from vault.errors import UsageError, VaultError, VaultExists
from vault.fsutil import (
    SHARED_DIR_MODE,
    ensure_private_dir,
    group_id,
    is_shared_folder,
    share_with_group,
)
from vault.keys import (
    OwnerKeys,
    change_passphrase,
    create_device_key,
    create_owner_keys,
    device_key_name,
    owner_key_name,
    public_key_b64,
    sweep_key_temps,
)
from vault.service.backup import BackupService
from vault.service.cameras import CameraService
from vault.service.clips import ClipService
from vault.service.context import IdMaker, VaultContext
from vault.service.guard import ClipOpener, ReleaseGuard
from vault.service.holds import HoldService
from vault.service.keyring import Keyring
from vault.service.recovery import RecoveryService
from vault.service.release import ReleaseService
from vault.service.release_plan import ReleasePlanner
from vault.service.requests import RequestService
from vault.service.results import KeyInfo
from vault.service.retention import RetentionService
from vault.service.status import StatusService
from vault.store import BlobStore
from vault.timeutil import utc_now


class Vault:
    """An open vault. Create one with :meth:`open` or :meth:`init`.

    Its services: ``cameras``, ``clips``, ``requests``, ``holds``,
    ``releases``, ``retention``, ``status``, ``backups`` and ``recovery``; the
    keys are on ``keyring``.
    """

    def __init__(self, ctx: VaultContext, keyring: Keyring | None = None) -> None:
        self.ctx = ctx
        self.keyring = keyring or Keyring(ctx)
        self.cameras = CameraService(ctx, self.keyring)
        self.clips = ClipService(ctx, self.keyring)
        self.status = StatusService(ctx.layout, ctx.config, ctx.store)
        self.requests = RequestService(
            ctx, self.keyring, ReleasePlanner(ctx, ClipOpener(ctx, self.keyring))
        )
        self.holds = HoldService(ctx, self.keyring)
        self.retention = RetentionService(ctx, self.keyring, self.holds, self.requests, self.status)
        self.guard = ReleaseGuard(ctx, self.keyring, self.requests)
        self.releases = ReleaseService(ctx, self.keyring, self.requests, self.clips, self.guard)
        self.backups = BackupService(ctx, self.keyring)
        self.recovery = RecoveryService(ctx, self.keyring)

    @staticmethod
    def _context(
        layout: Layout,
        config: Config,
        engine: Engine,
        *,
        clock: Callable[[], datetime],
        new_id: IdMaker | None,
        actor: str,
    ) -> VaultContext:
        audit = AuditLog(
            engine,
            config.origin,
            clock,
            copy_path=layout.checkpoint_copy,
            head_path=owner_head_path(config.vault_id),
            head_paths=[owner_folder_head_path(layout.root)],
            head_key=config.owner_verifier,
        )
        return VaultContext(
            layout=layout,
            config=config,
            engine=engine,
            reader=reader(engine),
            store=BlobStore(layout.store),
            audit=audit,
            clock=clock,
            new_id=new_id or ids.new_id,
            actor=actor,
        )

    @classmethod
    def open(
        cls,
        root: Path | None = None,
        *,
        actor: str = "owner",
        clock: Callable[[], datetime] = utc_now,
        new_id: IdMaker | None = None,
    ) -> Vault:
        """Open the vault in *root* (locked). *clock* and *new_id* are for
        tests: every service, and the audit log, use them."""
        layout = Layout(root or default_vault_dir())
        if is_shared_folder(layout.root):
            share_with_group()  # the two-user deployment: files for the group too
        config = Config.load(layout)
        sweep_key_temps(layout)  # what a killed `key passwd` left (vault.keys)
        engine = open_catalog(layout.catalog, create=False)
        return cls(cls._context(layout, config, engine, clock=clock, new_id=new_id, actor=actor))

    @classmethod
    def init(
        cls,
        root: Path | None,
        passphrase: str,
        *,
        log_n: int = 18,
        recovery_recipients: tuple[str, ...] = (),
        clock: Callable[[], datetime] = utc_now,
        group: str | None = None,
        new_id: IdMaker | None = None,
    ) -> Vault:
        """Create a vault: folders (0700), keys sealed with *passphrase*, config, catalog.

        With *group*, the vault is shared with the daemon's system user through
        that group (the two-user deployment): folders 2770, files group-readable,
        and group-writable only where the daemon writes.
        """
        layout = Layout(root or default_vault_dir())
        if layout.config.exists():
            raise VaultExists(f"{layout.root} is already a ringfence vault")
        if not 10 <= log_n <= 22:
            raise UsageError("--kdf-log-n must be between 10 and 22")
        recovery = []
        for text in recovery_recipients:
            recovery.append(str(age.parse_recipient(text)))
        if layout.root.exists() and any(layout.root.iterdir()):
            raise VaultError(f"{layout.root} is not empty; choose an empty or new folder")
        gid = None if group is None else group_id(group)
        ensure_private_dir(layout.root)
        if gid is not None:
            try:
                os.chown(layout.root, -1, gid)
                os.chmod(layout.root, SHARED_DIR_MODE)
            except OSError as exc:
                raise UsageError(
                    f"cannot give {layout.root} to group {group}: "
                    f"{exc.strerror} (the owner must be a member)"
                ) from None
            share_with_group()
        keys = create_owner_keys(layout, passphrase, log_n)
        device = create_device_key(layout)
        vault_id = (new_id or ids.new_id)("vault").split("_", 1)[1]
        origin = f"ringfence.vault/{vault_id}"
        owner_signer = keys.signer(origin)
        device_signer = NoteSigner(device_key_name(origin), device)
        config = Config(
            vault_id=vault_id,
            origin=origin,
            recipients=[str(keys.identity.recipient), *recovery],
            signing_public_key=public_key_b64(keys.signing_key.public_key()),
            owner_verifier=owner_signer.verifier_key(),
            device_verifier=device_signer.verifier_key(),
            kdf_log_n=log_n,
        )
        engine = open_catalog(layout.catalog)
        config.save(layout)
        ctx = cls._context(layout, config, engine, clock=clock, new_id=new_id, actor="owner")
        vault = cls(ctx, Keyring(ctx, keys))
        ctx.audit.append(
            events.KEY_CREATED,
            actor="owner",
            subject=owner_key_name(origin),
            details={
                "recipients": config.recipients,
                "signing_public_key": config.signing_public_key,
                "owner_verifier": config.owner_verifier,
                "device_verifier": config.device_verifier,
                "kdf_log_n": log_n,
            },
        )
        vault.checkpoint()
        return vault

    # --- the open vault's parts, for the daemon, the CLI and tests -------------

    @property
    def layout(self) -> Layout:
        return self.ctx.layout

    @property
    def config(self) -> Config:
        return self.ctx.config

    @property
    def engine(self) -> Engine:
        return self.ctx.engine

    @property
    def reader(self) -> Engine:
        return self.ctx.reader

    @property
    def store(self) -> BlobStore:
        return self.ctx.store

    @property
    def audit(self) -> AuditLog:
        return self.ctx.audit

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.ctx.clock

    @property
    def actor(self) -> str:
        return self.ctx.actor

    @property
    def root(self) -> Path:
        return self.ctx.root

    # --- keys ----------------------------------------------------------------------

    @property
    def unlocked(self) -> bool:
        return self.keyring.unlocked

    def unlock(self, passphrase: str) -> OwnerKeys:
        """Open the owner's keys with *passphrase* and keep them in memory."""
        return self.keyring.unlock(passphrase)

    def lock(self) -> None:
        """Forget the owner's keys."""
        self.keyring.lock()

    def owner_keys(self) -> OwnerKeys:
        return self.keyring.owner_keys()

    def verifier_keys(self) -> list[str]:
        return self.keyring.verifier_keys()

    def checkpoint(self) -> str | None:
        """Sign the log's current state with whoever can sign now."""
        return self.keyring.checkpoint()

    def close(self) -> None:
        self.lock()
        self.engine.dispose()

    def change_passphrase(self, old: str, new: str) -> None:
        change_passphrase(self.layout, old, new, self.config.kdf_log_n)
        self.unlock(new)
        self.audit.append(
            events.KEY_PASSPHRASE_CHANGED,
            actor=self.actor,
            subject=owner_key_name(self.config.origin),
            details={},
        )
        self.checkpoint()

    def key_info(self) -> KeyInfo:
        return KeyInfo(
            recipient=self.config.recipients[0],
            recovery_recipients=tuple(self.config.recipients[1:]),
            signing_public_key=self.config.signing_public_key,
            owner_verifier=self.config.owner_verifier,
            device_verifier=self.config.device_verifier,
            origin=self.config.origin,
        )
