"""The keys of an open vault: the owner's (only after unlocking, only in
memory) and the device's, and checkpoints signed with whichever can sign."""

from __future__ import annotations

from vault.audit.note import NoteSigner
from vault.errors import PassphraseError
from vault.keys import OwnerKeys, device_key_name, load_device_key, unlock, verify_identity_matches
from vault.service.context import VaultContext


class Keyring:
    """The one place that knows whether the vault is unlocked.

    Services ask it for the owner's keys (PassphraseError while locked) and
    for checkpoints; none of them keeps a key of its own.
    """

    def __init__(self, ctx: VaultContext, owner: OwnerKeys | None = None) -> None:
        self._ctx = ctx
        self._owner = owner
        self._device: NoteSigner | None = None

    @property
    def unlocked(self) -> bool:
        return self._owner is not None

    def unlock(self, passphrase: str) -> OwnerKeys:
        """Open the owner's keys with *passphrase* and keep them in memory."""
        keys = unlock(self._ctx.layout, passphrase)
        verify_identity_matches(keys, self._ctx.config.recipients)
        self._owner = keys
        return keys

    def lock(self) -> None:
        """Forget the owner's keys."""
        self._owner = None

    def owner_keys(self) -> OwnerKeys:
        if self._owner is None:
            raise PassphraseError("the vault is locked: the owner's passphrase is needed")
        return self._owner

    def device_signer(self) -> NoteSigner:
        if self._device is None:
            self._device = NoteSigner(
                device_key_name(self._ctx.config.origin), load_device_key(self._ctx.layout)
            )
        return self._device

    def signers(self) -> list[NoteSigner]:
        """Who signs checkpoints now: the device always, the owner when unlocked."""
        out = [self.device_signer()]
        if self._owner is not None:
            out.append(self._owner.signer(self._ctx.config.origin))
        return out

    def verifier_keys(self) -> list[str]:
        return [self._ctx.config.owner_verifier, self._ctx.config.device_verifier]

    def checkpoint(self) -> str | None:
        """Sign the log's current state with whoever can sign now."""
        return self._ctx.audit.checkpoint(self.signers())

    def checkpoint_with_owner(self) -> str:
        """A checkpoint the owner signed, covering everything logged so far."""
        self.owner_keys()
        note = self.checkpoint()
        latest = self._ctx.audit.latest_checkpoint()
        if note is None:
            assert latest is not None
            note = latest.note
        return note
