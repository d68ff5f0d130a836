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
#: The cameras' FTP logins (scrypt verifiers only), vault.ingest.ftp_accounts.
FTP_ACCOUNTS_NAME = "ftp-accounts.json"
#: The cameras' stream URLs, passwords included (vault.ingest.streams): private.
STREAMS_NAME = "streams.toml"
#: The FTPS certificate and its key, made on first use (vault.ingest.ftp_tls).
FTPS_DIR = "ftps"


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

    @property
    def ftp_accounts(self) -> Path:
        return self.root / FTP_ACCOUNTS_NAME

    @property
    def streams(self) -> Path:
        return self.root / STREAMS_NAME

    @property
    def ftps(self) -> Path:
        return self.root / FTPS_DIR


@dataclass(frozen=True)
class FtpConfig:
    """``[ftp]``: the FTP/FTPS receiver the daemon runs (docs/ftp.md). Off when absent.

    ``listen = "HOST:PORT"``; ``passive_ports = "FIRST-LAST"``; ``tls`` is
    ``true`` (a certificate made on first use), ``false``, or a table
    ``{cert = "PATH", key = "PATH"}`` with the owner's own; ``max_upload``
    in bytes.
    """

    host: str
    port: int
    passive_ports: tuple[int, int] | None = None
    tls: bool = False
    tls_cert: str | None = None
    tls_key: str | None = None
    max_upload: int | None = None

    def to_table(self) -> dict[str, Any]:
        host = f"[{self.host}]" if ":" in self.host else self.host
        table: dict[str, Any] = {"listen": f"{host}:{self.port}"}
        if self.passive_ports is not None:
            table["passive_ports"] = f"{self.passive_ports[0]}-{self.passive_ports[1]}"
        if self.tls_cert is not None and self.tls_key is not None:
            table["tls"] = {"cert": self.tls_cert, "key": self.tls_key}
        else:
            table["tls"] = self.tls
        if self.max_upload is not None:
            table["max_upload"] = self.max_upload
        return table

    @classmethod
    def from_table(cls, table: Any, where: str) -> FtpConfig:
        if not isinstance(table, dict):
            raise VaultError(f"{where}: [ftp] must be a table")
        unknown = set(table) - {"listen", "passive_ports", "tls", "max_upload"}
        if unknown:
            raise VaultError(f"{where}: [ftp] has unknown setting(s) {', '.join(sorted(unknown))}")
        if "listen" not in table:
            raise VaultError(f'{where}: [ftp] needs listen = "HOST:PORT"')
        host, port = parse_listen(table["listen"], f"{where}: [ftp] listen")
        ports = table.get("passive_ports")
        passive = None if ports is None else _port_range(ports, f"{where}: [ftp] passive_ports")
        tls = table.get("tls", False)
        cert = key = None
        if isinstance(tls, dict):
            if set(tls) != {"cert", "key"} or not all(
                isinstance(v, str) and v for v in tls.values()
            ):
                raise VaultError(
                    f'{where}: [ftp] tls must be true, false or {{cert = "PATH", key = "PATH"}}'
                )
            cert, key, tls = tls["cert"], tls["key"], True
        elif not isinstance(tls, bool):
            raise VaultError(
                f'{where}: [ftp] tls must be true, false or {{cert = "PATH", key = "PATH"}}'
            )
        limit = table.get("max_upload")
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0
        ):
            raise VaultError(f"{where}: [ftp] max_upload must be a number of bytes above 0")
        return cls(host, port, passive, tls, cert, key, limit)


def parse_listen(text: Any, what: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:2121`` for IPv6) as (host, port); VaultError otherwise."""
    if not isinstance(text, str) or ":" not in text:
        raise VaultError(f'{what} must be "HOST:PORT", e.g. "0.0.0.0:2121"')
    host, _, port_text = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if (
        not host
        or not port_text.isascii()
        or not port_text.isdigit()
        or not (0 <= int(port_text) <= 65535)
        or any(c.isspace() for c in host)
    ):
        raise VaultError(f'{what} must be "HOST:PORT" with a port from 0 to 65535')
    return host, int(port_text)


def _port_range(text: Any, what: str) -> tuple[int, int]:
    parts = text.split("-") if isinstance(text, str) else []
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() for p in parts):
        raise VaultError(f'{what} must be "FIRST-LAST", e.g. "60000-60099"')
    first, last = int(parts[0]), int(parts[1])
    if not 1024 <= first <= last <= 65535:
        raise VaultError(f"{what}: ports from 1024 to 65535, the first not above the last")
    return first, last


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
    ftp: FtpConfig | None = None  # [ftp]: the FTP/FTPS receiver; off when None

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
        receipt = {
            k: v
            for k, v in (
                ("jurisdiction", self.receipt_jurisdiction),
                ("contact", self.receipt_contact),
            )
            if v is not None
        }
        if receipt:
            doc["receipt"] = receipt
        if self.ftp is not None:
            doc["ftp"] = self.ftp.to_table()
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
                ftp=(FtpConfig.from_table(doc["ftp"], str(where)) if "ftp" in doc else None),
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
    if (
        not isinstance(value, str)
        or not value.strip()
        or not value.isprintable()
        or len(value) > _RECEIPT_TEXT_MAX
    ):
        raise VaultError(
            f"{where}: [receipt] {key} must be one line of printable text "
            f"(at most {_RECEIPT_TEXT_MAX} characters)"
        )
    return value
