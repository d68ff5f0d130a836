"""The owner's keys and the daemon's device key.

The owner has an X25519 identity (opens clips) and an Ed25519 signing key
(signs receipts and checkpoints). Each is stored as an age file sealed with the
owner's passphrase (scrypt recipient), so the stock ``age -d`` recovers them
without ringfence. The daemon only ever reads the public recipients from
config.toml and its own device key, which signs audit checkpoints but can open
nothing.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vault import age
from vault.audit.note import NoteSigner
from vault.config import (
    DEVICE_KEY_NAME,
    NEXT_SUFFIX,
    OWNER_IDENTITY_NAME,
    OWNER_SIGNING_NAME,
    PASSWD_LOCK_NAME,
    Layout,
)
from vault.errors import NoMatchingIdentity, PassphraseError, StorageError, VaultError
from vault.fsutil import (
    ensure_private_dir,
    fsync_dir,
    replace_durably,
    storage_error,
    unlink_durably,
    write_atomic,
)
from vault.hardening import forbid_core_dumps
from vault.safetext import shown
from vault.signed import public_b64

log = logging.getLogger(__name__)


@dataclass
class OwnerKeys:
    """The owner's unlocked secrets. Lives only in memory, only while needed."""

    identity: age.X25519Identity
    signing_key: Ed25519PrivateKey

    def signer(self, origin: str) -> NoteSigner:
        return NoteSigner(owner_key_name(origin), self.signing_key)


def owner_key_name(origin: str) -> str:
    return f"{origin}/owner"


def device_key_name(origin: str) -> str:
    return f"{origin}/device"


def public_key_b64(key: Ed25519PublicKey) -> str:
    """The owner's public key as config.toml and receipts name it."""
    return public_b64(key)


def load_public_key_b64(text: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise VaultError("the owner's signing public key in config.toml is malformed") from None


def _identity_file(identity: age.X25519Identity) -> bytes:
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"# ringfence owner identity, created {created}\n"
        f"# public key: {identity.recipient}\n"
        f"{identity}\n"
    ).encode()


def _signing_file(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _seal(data: bytes, passphrase: str, log_n: int) -> bytes:
    return age.encrypt_bytes(data, [age.ScryptRecipient(passphrase, log_n=log_n)])


def _open(path: Path, passphrase: str) -> bytes:
    try:
        sealed = path.read_bytes()
    except FileNotFoundError:
        raise VaultError(f"the key file {shown(path)} is missing") from None
    except OSError as exc:
        raise VaultError(f"cannot read the key file {shown(path)}: {exc.strerror}") from None
    try:
        return age.decrypt_bytes(sealed, passphrases=[passphrase])
    except NoMatchingIdentity:
        raise PassphraseError("wrong passphrase") from None


def create_owner_keys(layout: Layout, passphrase: str, log_n: int) -> OwnerKeys:
    forbid_core_dumps()  # the new secrets are in this process from here on
    ensure_private_dir(layout.keys, group_write=False)  # the daemon's user only reads here
    keys = OwnerKeys(age.generate_identity(), Ed25519PrivateKey.generate())
    write_atomic(
        layout.owner_identity, _seal(_identity_file(keys.identity), passphrase, log_n), share=False
    )
    write_atomic(
        layout.owner_signing, _seal(_signing_file(keys.signing_key), passphrase, log_n), share=False
    )
    return keys


def create_device_key(layout: Layout) -> Ed25519PrivateKey:
    ensure_private_dir(layout.keys, group_write=False)
    key = Ed25519PrivateKey.generate()
    write_atomic(layout.device_key, _signing_file(key), mode=0o600, group_write=False)
    return key


def load_device_key(layout: Layout) -> Ed25519PrivateKey:
    try:
        data = layout.device_key.read_bytes()
        key = serialization.load_pem_private_key(data, password=None)
    except FileNotFoundError:
        raise VaultError(f"the device key {shown(layout.device_key)} is missing") from None
    except (OSError, ValueError) as exc:
        raise VaultError(f"cannot load the device key {shown(layout.device_key)}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise VaultError(f"the device key {shown(layout.device_key)} is not an Ed25519 key")
    return key


def _opens(path: Path, passphrase: str) -> bool:
    try:
        _open(path, passphrase)
    except (PassphraseError, VaultError, age.AgeError):
        return False
    return True


#: Held (flock) by `key passwd` from its first write to its last rename, and
#: by every unlock: a kill releases it, so a sweep never races a live change.
PASSWD_LOCK = PASSWD_LOCK_NAME
#: The temporary names vault.fsutil.atomic_writer gives the key files.
_KEY_TEMP = re.compile(
    r"^\.(?:"
    + "|".join(re.escape(n) for n in (OWNER_IDENTITY_NAME, OWNER_SIGNING_NAME, DEVICE_KEY_NAME))
    + ")(?:"
    + re.escape(NEXT_SUFFIX)
    + r")?\.[0-9a-f]{12}\.tmp$"
)


@contextlib.contextmanager
def _keys_lock(layout: Layout, *, wait: bool) -> Iterator[bool]:
    """The passwd lock; yields False when *wait* is off and someone holds it,
    or when this user cannot create the lock file (a read-only keys folder:
    nothing there can be changed or swept then)."""
    try:
        fd = os.open(layout.passwd_lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing the last descriptor releases the flock


def sweep_key_temps(layout: Layout) -> list[str]:
    """Remove the temporary key files a killed `key passwd` (or init) left.

    Run at every vault start and unlock. A temporary file was never renamed
    into place, so the key files it was meant to replace are still whole;
    it holds a key sealed under a passphrase nobody confirmed, and goes.
    Skipped while a `key passwd` runs, and where this user cannot write the
    keys folder (the daemon of a two-user deployment). The names removed.
    """
    if not layout.keys.is_dir():
        return []
    with _keys_lock(layout, wait=False) as free:
        return _remove_key_temps(layout) if free else []


def _remove_key_temps(layout: Layout) -> list[str]:
    removed = []
    try:
        for entry in os.scandir(layout.keys):
            if _KEY_TEMP.match(entry.name) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(entry.name)
        if removed:
            fsync_dir(layout.keys)
    except OSError as exc:
        log.warning(
            "cannot remove the temporary key files in %s: %s", shown(layout.keys), exc.strerror
        )
    return removed


def _finish_interrupted_passwd(layout: Layout, passphrase: str) -> None:
    """Complete, or clear away, a `key passwd` that was killed half way.

    `key passwd` writes both files under the new passphrase as ``*.next``,
    then renames each into place. A kill can leave any prefix of that. The
    rule: for each key file take its ``.next`` if that opens with
    *passphrase*, else the file itself; promote the ``.next`` files only if
    then *both* open, so the two keys never end up under two passphrases.
    When both current files open and no ``.next`` is needed, leftover
    ``.next`` files (sealed with a passphrase never put in place) go.
    """
    finals = (layout.owner_identity, layout.owner_signing)
    pendings = [layout.pending_key(f) for f in finals]
    if not any(p.exists() for p in pendings):
        return
    chosen: list[Path | None] = []
    for final, pending in zip(finals, pendings, strict=True):
        if pending.exists() and _opens(pending, passphrase):
            chosen.append(pending)
        elif _opens(final, passphrase):
            chosen.append(final)
        else:
            chosen.append(None)
    if any(c is None for c in chosen):
        return  # this passphrase opens neither state; unlock reports it
    try:
        for final, pending, pick in zip(finals, pendings, chosen, strict=True):
            if pick == pending:
                replace_durably(pending, final)
            else:
                unlink_durably(pending)
    except OSError as exc:
        raise storage_error(exc, "cannot finish the interrupted passphrase change") from exc


def unlock(layout: Layout, passphrase: str) -> OwnerKeys:
    """Open the owner's key files with *passphrase*; PassphraseError when wrong.

    Core dumps are switched off first: from here on this process holds the
    owner's secrets (vault.hardening).
    """
    forbid_core_dumps()
    with _keys_lock(layout, wait=True):
        return _unlock_locked(layout, passphrase)


def _unlock_locked(layout: Layout, passphrase: str) -> OwnerKeys:
    _remove_key_temps(layout)
    _finish_interrupted_passwd(layout, passphrase)
    ident_text = _open(layout.owner_identity, passphrase)
    try:
        identities = age.parse_identities_file(ident_text.decode("utf-8"))
    except (UnicodeDecodeError, age.AgeError):
        raise VaultError("the owner identity file does not hold an age identity") from None
    if len(identities) != 1:
        raise VaultError("the owner identity file must hold exactly one identity")
    key = serialization.load_pem_private_key(_open(layout.owner_signing, passphrase), None)
    if not isinstance(key, Ed25519PrivateKey):
        raise VaultError("the owner signing key is not an Ed25519 key")
    return OwnerKeys(identities[0], key)


def change_passphrase(layout: Layout, old: str, new: str, log_n: int) -> None:
    """Reseal both key files under *new*. Clips are untouched: they are sealed to the key.

    The passwd lock is held throughout, so no start or unlock sweeps the
    files this change is writing; what a kill leaves is cleared by the next.
    """
    forbid_core_dumps()
    with _keys_lock(layout, wait=True):
        _change_locked(layout, old, new, log_n)


def _change_locked(layout: Layout, old: str, new: str, log_n: int) -> None:
    keys = _unlock_locked(layout, old)
    staged: list[tuple[Path, Path]] = []
    try:
        for final, plain in (
            (layout.owner_identity, _identity_file(keys.identity)),
            (layout.owner_signing, _signing_file(keys.signing_key)),
        ):
            pending = layout.pending_key(final)
            write_atomic(pending, _seal(plain, new, log_n), share=False)
            staged.append((pending, final))
        for pending, final in staged:
            replace_durably(pending, final)
    except OSError as exc:
        for pending, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                pending.unlink()
        raise storage_error(exc, "cannot write the new key files") from exc
    except StorageError:
        for pending, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                pending.unlink()
        raise


def verify_identity_matches(keys: OwnerKeys, recipients: list[str]) -> None:
    if str(keys.identity.recipient) != recipients[0]:
        raise VaultError("the owner identity does not match the recipient in config.toml")


def sealed_device_key(layout: Layout, recipients: list[str]) -> bytes:
    """The device key as an age file sealed to *recipients* (the owner's), for a
    backup: it signs checkpoints and deletion records, so a backup keeps it
    only in a form that the owner's identity (or the stock ``age -d``) opens."""
    try:
        data = layout.device_key.read_bytes()
    except OSError as exc:
        raise VaultError(
            f"cannot read the device key {shown(layout.device_key)}: {exc.strerror}"
        ) from None
    load_device_key(layout)  # refuse to back up something that is not one
    return age.encrypt_bytes(data, recipients)


def restore_device_key(layout: Layout, identity: age.X25519Identity, sealed: bytes) -> None:
    """Open a backup's sealed device key with the owner's *identity* and put it
    in place (0600), checked to be an Ed25519 key."""
    try:
        data = age.decrypt_bytes(sealed, [identity])
    except age.AgeError:
        raise VaultError(
            "the backup's device key does not open with the owner's identity"
        ) from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except ValueError:
        raise VaultError("the backup's device key is not a key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise VaultError("the backup's device key is not an Ed25519 key")
    ensure_private_dir(layout.keys, group_write=False)
    write_atomic(layout.device_key, data, mode=0o600, group_write=False)


# --- recovery: the owner's keys sealed to a recovery identity -----------------------------


def recovery_identity(secret: bytes) -> age.X25519Identity:
    """The age identity whose 32-byte secret is *secret* (vault.recovery)."""
    return age.X25519Identity(secret)


def seal_keys_for_recovery(layout: Layout, keys: OwnerKeys, recipient: str) -> None:
    """Both owner keys, sealed to the recovery *recipient* only
    (``keys/recovery.age``): what `key recover` opens to set a new passphrase."""
    plain = _identity_file(keys.identity) + b"\n" + _signing_file(keys.signing_key)
    write_atomic(layout.recovery_keys, age.encrypt_bytes(plain, [recipient]), share=False)


def open_recovery_keys(layout: Layout, identity: age.X25519Identity) -> OwnerKeys:
    """The owner's keys from ``keys/recovery.age``, opened with the recovery identity."""
    try:
        sealed = layout.recovery_keys.read_bytes()
    except FileNotFoundError:
        raise VaultError(
            "this vault has no recovery key (`ringfence key recovery create`)"
        ) from None
    try:
        plain = age.decrypt_bytes(sealed, [identity])
    except age.NoMatchingIdentity:
        raise PassphraseError(
            "the recovery shares rebuild a key that is not this vault's recovery key"
        ) from None
    ident_text, sep, pem = plain.partition(b"\n-----BEGIN")
    try:
        [owner] = age.parse_identities_file(ident_text.decode("utf-8"))
        key = serialization.load_pem_private_key(b"-----BEGIN" + pem, None)
    except (ValueError, UnicodeDecodeError, age.AgeError):
        raise VaultError("keys/recovery.age does not hold the owner's keys") from None
    if not sep or not isinstance(key, Ed25519PrivateKey):
        raise VaultError("keys/recovery.age does not hold the owner's signing key")
    return OwnerKeys(owner, key)


def reseal_owner_keys(layout: Layout, keys: OwnerKeys, passphrase: str, log_n: int) -> None:
    """Seal *keys* under a new *passphrase* (after a recovery): staged, then renamed."""
    forbid_core_dumps()
    with _keys_lock(layout, wait=True):
        staged = []
        for final, plain in (
            (layout.owner_identity, _identity_file(keys.identity)),
            (layout.owner_signing, _signing_file(keys.signing_key)),
        ):
            pending = layout.pending_key(final)
            write_atomic(pending, _seal(plain, passphrase, log_n), share=False)
            staged.append((pending, final))
        for pending, final in staged:
            replace_durably(pending, final)


def readdressed_header(
    header: bytes, identity: age.X25519Identity, recipients: list[age.Recipient]
) -> bytes:
    """A clip's header addressed to the vault's own new recipient list (a
    recovery key added or revoked). The file key never leaves this call; the
    payload is not touched, and nothing is released."""
    return age.rewrap(header, identity, recipients)
