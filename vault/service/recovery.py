"""A recovery key that needs nobody: SLIP-39 shares of an age identity.

``key recovery create`` makes a fresh X25519 identity, seals the owner's keys
to it (``keys/recovery.age``), adds its recipient to ``config.toml`` and
readdresses every header to the new recipient list, then hands the identity
out once as SLIP-39 word shares (vault.recovery) and forgets it. ``key
recover`` rebuilds it from K shares and seals the owner's keys under a new
passphrase; ``key recovery revoke`` removes it from every header.

Headers change, payloads never do. Each batch of readdressed headers commits
with a ``clips.readdressed`` entry naming each clip's new header hash, which
``clips verify`` and ``backup verify`` then expect. The daemon must be
stopped meanwhile (its lock is taken): it seals new clips to the recipient
list it read at its start.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select, update

from vault import age
from vault.audit import events
from vault.catalog.db import truncate_wal
from vault.catalog.models import Attachment, Clip
from vault.errors import NotFound, PassphraseError, UsageError, VaultBusy
from vault.keys import (
    open_recovery_keys,
    owner_key_name,
    readdressed_header,
    recovery_identity,
    reseal_owner_keys,
    seal_keys_for_recovery,
)
from vault.lock import InstanceLock
from vault.recovery import check_split, combine, split
from vault.service.context import VaultContext
from vault.service.keyring import Keyring
from vault.service.results import Recovered, RecoveryRevoked

BATCH = 500


@dataclass(frozen=True)
class RecoveryKey:
    """What `key recovery create` shows once: the recipient and the shares (or,
    with one share, the paper key ``AGE-SECRET-KEY-1…`` as well)."""

    recipient: str
    shares: list[str]
    threshold: int
    paper_key: str | None
    headers: int
    note: str = field(default="shown once and never stored: write it down now")


class RecoveryService:
    """Recovery keys of the owner: create, revoke, and recover with them."""

    def __init__(self, ctx: VaultContext, keyring: Keyring) -> None:
        self.ctx = ctx
        self.keyring = keyring

    @contextlib.contextmanager
    def _daemon_stopped(self) -> Iterator[None]:
        lock = InstanceLock(self.ctx.layout.lock)
        try:
            lock.acquire()
        except VaultBusy:
            raise VaultBusy(
                "the daemon is running: stop it first (it seals new clips to the "
                "recipients it read at its start)"
            ) from None
        try:
            yield
        finally:
            lock.release()

    def create(self, shares: int = 1, threshold: int = 1) -> RecoveryKey:
        """A new recovery identity, added to every header; needs the vault unlocked."""
        check_split(shares, threshold)
        keys = self.keyring.owner_keys()
        config = self.ctx.config
        if len(config.recipients) > 1:
            raise UsageError(
                "this vault already has a recovery recipient; revoke it first "
                "(`ringfence key recovery revoke`)"
            )
        secret = secrets.token_bytes(32)
        identity = recovery_identity(secret)
        recipient = str(identity.recipient)
        words = split(secret, shares, threshold)
        with self._daemon_stopped():
            seal_keys_for_recovery(self.ctx.layout, keys, recipient)
            new = [config.recipients[0], recipient]
            count = self._readdress(new, "recovery key added")
            config.recipients = new
            config.save(self.ctx.layout)
            self.ctx.audit.append(
                events.KEY_RECOVERY_CREATED,
                actor=self.ctx.actor,
                subject=owner_key_name(config.origin),
                details={
                    "recipient": recipient,
                    "shares": shares,
                    "threshold": threshold,
                    "headers": count,
                },
            )
        self.keyring.checkpoint()
        return RecoveryKey(
            recipient, words, threshold, str(identity) if shares == 1 else None, count
        )

    def revoke(self, recipient: str | None = None) -> RecoveryRevoked:
        """Remove the recovery recipient from every header and from config.toml."""
        self.keyring.owner_keys()
        config = self.ctx.config
        extra = config.recipients[1:]
        if not extra:
            raise NotFound("this vault has no recovery recipient")
        if recipient is None:
            if len(extra) > 1:
                raise UsageError("several recovery recipients: name the one to revoke")
            recipient = extra[0]
        if recipient not in extra:
            raise NotFound(f"{recipient[:24]}… is not a recovery recipient of this vault")
        with self._daemon_stopped():
            new = [r for r in config.recipients if r != recipient]
            count = self._readdress(new, "recovery key revoked")
            config.recipients = new
            config.save(self.ctx.layout)
            self.ctx.layout.recovery_keys.unlink(missing_ok=True)
            self.ctx.audit.append(
                events.KEY_RECOVERY_REVOKED,
                actor=self.ctx.actor,
                subject=owner_key_name(config.origin),
                details={"recipient": recipient, "headers": count},
            )
        self.keyring.checkpoint()
        return RecoveryRevoked(revoked=recipient, headers=count)

    def recover(self, shares: list[str], new_passphrase: str) -> Recovered:
        """Rebuild the recovery identity from *shares* and seal the owner's keys
        under *new_passphrase*. Needs no old passphrase."""
        identity = recovery_identity(combine(shares))
        if str(identity.recipient) not in self.ctx.config.recipients[1:]:
            raise PassphraseError(
                "the recovery shares rebuild a key that is not this vault's recovery recipient"
            )
        keys = open_recovery_keys(self.ctx.layout, identity)
        if str(keys.identity.recipient) != self.ctx.config.recipients[0]:
            raise PassphraseError("keys/recovery.age holds keys of another owner")
        reseal_owner_keys(self.ctx.layout, keys, new_passphrase, self.ctx.config.kdf_log_n)
        self.keyring.unlock(new_passphrase)
        self.ctx.audit.append(
            events.KEY_RECOVERED,
            actor=self.ctx.actor,
            subject=owner_key_name(self.ctx.config.origin),
            details={"recipient": str(identity.recipient)},
        )
        self.keyring.checkpoint()
        return Recovered(recipient=str(identity.recipient))

    def _readdress(self, recipients: list[str], why: str) -> int:
        """Every header (clips and attachments) addressed to *recipients*, in batches."""
        identity = self.keyring.owner_keys().identity
        parsed = [age.parse_recipient(r) for r in recipients]  # once, not per header
        done = 0
        for table in (Clip, Attachment):
            last = ""
            while True:
                with self.ctx.engine.begin() as conn:
                    rows = conn.execute(
                        select(table.id, table.header)
                        .where(
                            table.header.is_not(None),  # type: ignore[union-attr]
                            table.id > last,
                        )
                        .order_by(table.id)
                        .limit(BATCH)
                    ).all()
                    if not rows:
                        break
                    hashes: dict[str, str] = {}
                    changes = []
                    for row_id, header in rows:
                        new = readdressed_header(bytes(header), identity, parsed)
                        changes.append({"row_id": row_id, "new_header": new})
                        hashes[row_id] = hashlib.sha256(new).hexdigest()
                    conn.execute(
                        update(table)
                        .where(table.id == bindparam("row_id"))
                        .values(header=bindparam("new_header")),
                        changes,
                    )
                    self.ctx.audit.append(
                        events.CLIPS_READDRESSED,
                        actor=self.ctx.actor,
                        subject=None,
                        details={"why": why, "recipients": recipients, "headers": hashes},
                        conn=conn,
                    )
                    done += len(rows)
                    last = rows[-1][0]
        # The old headers' page images leave the write-ahead log now.
        truncate_wal(self.ctx.engine, wait_ms=5000)
        return done
