"""The vault folder, its layout and its configuration file (config.toml)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from vault.errors import VaultError
from vault.fsutil import write_atomic

CONFIG_NAME = "config.toml"
FORMAT_VERSION = 1


def default_vault_dir() -> Path:
    env = os.environ.get("RINGFENCE_VAULT")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("ringfence")) / "vault"


def owner_head_path(vault_id: str) -> Path:
    """Where the owner's newest signed checkpoint of vault *vault_id* is kept.

    In the owner's own configuration folder, not in the vault: whoever can
    write the vault's files (the daemon's user, in a two-user deployment)
    cannot cut the log back past this without it showing.
    """
    from platformdirs import user_config_dir

    return Path(user_config_dir("ringfence")) / "heads" / f"{vault_id}.checkpoint"


def owner_folder_head_path(root: Path) -> Path:
    """The same head, named by the vault's folder rather than by config.toml.

    config.toml can be rewritten by whoever writes the vault: a new vault id
    would lead :func:`owner_head_path` to a file that does not exist. A head
    named by the folder is found whatever the configuration says.
    """
    import hashlib

    from platformdirs import user_config_dir

    digest = hashlib.sha256(os.fsencode(os.path.realpath(root))).hexdigest()[:24]
    return Path(user_config_dir("ringfence")) / "heads" / f"folder-{digest}.checkpoint"


def default_drop_dir() -> Path:
    """Where `make run` puts the default camera's drop folder: beside the default vault."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("ringfence")) / "drop"


#: The names of a vault's files and folders, relative to its root (or, for
#: the store's and the keys' own, to their folder). Layout is the one place
#: that joins them; modules that get only a folder (the blob store) use these.
CATALOG_NAME = "catalog.db"
CHECKPOINT_COPY_NAME = "checkpoint.note"
KEYS_DIR = "keys"
OWNER_IDENTITY_NAME = "owner.age"
OWNER_SIGNING_NAME = "signing.age"
DEVICE_KEY_NAME = "device.ed25519"
#: The owner's keys sealed to the recovery identity (vault.keys, `key recover`).
RECOVERY_KEYS_NAME = "recovery.age"
#: Held (flock) by `key passwd` and every unlock (vault.keys).
PASSWD_LOCK_NAME = ".passwd.lock"  # noqa: S105 - a lock file name
#: A key file sealed under a new passphrase, before it is renamed into place.
NEXT_SUFFIX = ".next"
STORE_DIR = "store"
STORE_TMP_DIR = "tmp"
STORE_INTENT_DIR = "intent"
#: Notes of exports in flight (vault.service.release), so a killed export's
#: staging folder is found and removed.
EXPORTS_DIR = "exports"
DAEMON_LOCK_NAME = "daemon.lock"
DAEMON_STATE_NAME = "daemon.json"
#: Where `ringfence backup` builds the catalog copy it sends (vault.service.backup);
#: held (flock) by a running backup, removed by the next backup or shred.
BACKUP_STAGING_DIR = "backup.tmp"


@dataclass(frozen=True)
class Layout:
    """Where each part of a vault lives, relative to its root folder."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def keys(self) -> Path:
        return self.root / KEYS_DIR

    @property
    def owner_identity(self) -> Path:
        return self.keys / OWNER_IDENTITY_NAME

    @property
    def owner_signing(self) -> Path:
        return self.keys / OWNER_SIGNING_NAME

    @property
    def device_key(self) -> Path:
        return self.keys / DEVICE_KEY_NAME

    @property
    def recovery_keys(self) -> Path:
        return self.keys / RECOVERY_KEYS_NAME

    @property
    def passwd_lock(self) -> Path:
        return self.keys / PASSWD_LOCK_NAME

    @staticmethod
    def pending_key(final: Path) -> Path:
        """Where `key passwd` stages the new version of key file *final*."""
        return final.with_name(final.name + NEXT_SUFFIX)

    @property
    def catalog(self) -> Path:
        return self.root / CATALOG_NAME

    @property
    def checkpoint_copy(self) -> Path:
        """A copy of the latest signed audit checkpoint, outside the catalog."""
        return self.root / CHECKPOINT_COPY_NAME

    @property
    def store(self) -> Path:
        return self.root / STORE_DIR

    @property
    def store_tmp(self) -> Path:
        return self.store / STORE_TMP_DIR

    @property
    def store_intents(self) -> Path:
        return self.store / STORE_INTENT_DIR

    @property
    def exports_in_flight(self) -> Path:
        return self.root / EXPORTS_DIR

    @property
    def lock(self) -> Path:
        return self.root / DAEMON_LOCK_NAME

    @property
    def daemon_state(self) -> Path:
        return self.root / DAEMON_STATE_NAME

    @property
    def backup_staging(self) -> Path:
        return self.root / BACKUP_STAGING_DIR


@dataclass
class Config:
    vault_id: str
    origin: str
    recipients: list[str]  # owner first, then recovery recipients
    signing_public_key: str  # base64 raw Ed25519 public key of the owner
    owner_verifier: str  # signed-note verifier key of the owner
    device_verifier: str  # signed-note verifier key of the daemon's device key
    kdf_log_n: int = 18
    retention_grace_days: int = 7
    min_free_bytes: int = 1 << 30
    shred_on_pressure: bool = False
    idle_lock_seconds: int = 300
    keys: dict[str, str] = field(default_factory=dict)  # TUI key remapping: binding id -> key
    # [receipt]: what every consent receipt states about the owner (docs/receipts.md)
    receipt_jurisdiction: str | None = None  # e.g. "GB"; receipts say null when unset
    receipt_contact: str | None = None  # how a requester can reach the owner

    def to_toml(self) -> bytes:
        doc: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "vault": {"id": self.vault_id, "origin": self.origin},
            "owner": {
                "recipients": self.recipients,
                "signing_public_key": self.signing_public_key,
                "verifier": self.owner_verifier,
            },
            "device": {"verifier": self.device_verifier},
            "kdf": {"log_n": self.kdf_log_n},
            "retention": {
                "grace_days": self.retention_grace_days,
                "min_free_bytes": self.min_free_bytes,
                "shred_on_pressure": self.shred_on_pressure,
            },
            "tui": {"idle_lock_seconds": self.idle_lock_seconds, "keys": self.keys},
        }
        receipt = {k: v for k, v in (("jurisdiction", self.receipt_jurisdiction),
                                     ("contact", self.receipt_contact)) if v is not None}
        if receipt:
            doc["receipt"] = receipt
        header = b"# ringfence vault configuration. Public keys only: no secret lives here.\n"
        return header + tomli_w.dumps(doc).encode()

    @classmethod
    def from_toml(cls, data: bytes, where: Path) -> Config:
        try:
            doc = tomllib.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise VaultError(f"{where} is not valid TOML: {exc}") from None
        try:
            if doc.get("format") != FORMAT_VERSION:
                raise VaultError(f"{where}: unsupported format {doc.get('format')!r}")
            retention = doc.get("retention", {})
            tui = doc.get("tui", {})
            cfg = cls(
                vault_id=str(doc["vault"]["id"]),
                origin=str(doc["vault"]["origin"]),
                recipients=[str(r) for r in doc["owner"]["recipients"]],
                signing_public_key=str(doc["owner"]["signing_public_key"]),
                owner_verifier=str(doc["owner"]["verifier"]),
                device_verifier=str(doc["device"]["verifier"]),
                kdf_log_n=int(doc.get("kdf", {}).get("log_n", 18)),
                retention_grace_days=int(retention.get("grace_days", 7)),
                min_free_bytes=int(retention.get("min_free_bytes", 1 << 30)),
                shred_on_pressure=bool(retention.get("shred_on_pressure", False)),
                idle_lock_seconds=int(tui.get("idle_lock_seconds", 300)),
                keys={str(k): str(v) for k, v in tui.get("keys", {}).items()},
                receipt_jurisdiction=_receipt_text(doc, "jurisdiction", where),
                receipt_contact=_receipt_text(doc, "contact", where),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise VaultError(f"{where}: missing or invalid setting ({exc})") from None
        if not cfg.recipients:
            raise VaultError(f"{where}: no owner recipient")
        from vault import age

        for text in cfg.recipients:
            try:
                age.parse_recipient(text)
            except age.AgeError:
                raise VaultError(f"{where}: {text[:24]!r}… is not an age recipient") from None
        return cfg

    def save(self, layout: Layout) -> None:
        # The daemon's user may read it, never change it (recipients, keys).
        write_atomic(layout.config, self.to_toml(), mode=0o600, group_write=False)

    @classmethod
    def load(cls, layout: Layout) -> Config:
        try:
            data = layout.config.read_bytes()
        except FileNotFoundError:
            raise VaultError(
                f"no vault at {layout.root} (run `ringfence --vault {layout.root} init`)"
            ) from None
        except OSError as exc:
            raise VaultError(f"cannot read {layout.config}: {exc.strerror}") from None
        return cls.from_toml(data, layout.config)


_RECEIPT_TEXT_MAX = 200


def _receipt_text(doc: dict[str, Any], key: str, where: Path) -> str | None:
    """``[receipt] key``: one line of printable text, or None when unset.

    It is copied into every receipt the owner signs, so it is checked here,
    once, rather than trusted later.
    """
    section = doc.get("receipt", {})
    if not isinstance(section, dict):
        raise VaultError(f"{where}: [receipt] must be a table")
    value = section.get(key)
    if value is None:
        return None
    if (not isinstance(value, str) or not value.strip() or not value.isprintable()
            or len(value) > _RECEIPT_TEXT_MAX):
        raise VaultError(f"{where}: [receipt] {key} must be one line of printable text "
                         f"(at most {_RECEIPT_TEXT_MAX} characters)")
    return value
