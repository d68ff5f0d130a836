"""The audit log's event types: one definition each, with the shape of its details.

Writers log an event by its constant (``events.CLIP_SEALED``) and readers that
match entries compare with the same constant, so a type is spelled once.
:class:`vault.audit.log.AuditLog` checks every new entry against its
definition: an unregistered type, or details without a required key or with
a key of the wrong type, is a programming error and raises ValueError before
anything is written.

The check applies to new entries only. Readers take old entries as they are:
a required key here is one every writer has always written; a key that came
later (``request.decided``'s ``signed``) is optional, and readers treat its
absence as that older entry meant it. The constants are plain strings, so an
entry's bytes are the same whether its writer used the constant or not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

#: What a detail key may hold: a type, or a tuple of types (None allowed by NoneType).
Spec = type | tuple[type, ...]

_STR: Spec = str
_OPT: Spec = (str, type(None))
_INT: Spec = int
_BOOL: Spec = bool
_LIST: Spec = list
_DICT: Spec = dict
_ANY: Spec = object


@dataclass(frozen=True)
class EventType:
    """One kind of audit entry: its name and the details it carries."""

    name: str
    required: Mapping[str, Spec] = field(default_factory=dict)
    optional: Mapping[str, Spec] = field(default_factory=dict)

    def check(self, details: Mapping[str, Any]) -> None:
        """ValueError unless *details* has every required key, each key of its type."""
        missing = sorted(k for k in self.required if k not in details)
        if missing:
            raise ValueError(f"audit entry {self.name}: details lack {', '.join(missing)}")
        for key, spec in (*self.required.items(), *self.optional.items()):
            if key in details and not _fits(details[key], spec):
                raise ValueError(
                    f"audit entry {self.name}: details.{key} has the wrong type "
                    f"({type(details[key]).__name__})"
                )


def _fits(value: Any, spec: Spec) -> bool:
    types = spec if isinstance(spec, tuple) else (spec,)
    if isinstance(value, bool) and bool not in types and object not in types:
        return False  # True is an int to Python, never to a reader of the log
    return isinstance(value, types)


EventRegistry = Mapping[str, EventType]
_REGISTRY: dict[str, EventType] = {}
#: Every event type the vault writes, by name (read-only).
EVENTS: EventRegistry = MappingProxyType(_REGISTRY)


def _define(
    name: str,
    required: Mapping[str, Spec] | None = None,
    optional: Mapping[str, Spec] | None = None,
) -> str:
    if name in _REGISTRY:
        raise RuntimeError(f"audit event {name} is defined twice")
    _REGISTRY[name] = EventType(
        name, MappingProxyType(dict(required or {})), MappingProxyType(dict(optional or {}))
    )
    return name


def check_event(registry: EventRegistry, type: str, details: Mapping[str, Any] | None) -> None:
    """ValueError unless *type* is in *registry* and *details* fit its definition."""
    definition = registry.get(type) if isinstance(type, str) else None
    if definition is None:
        raise ValueError(
            f"audit entry: {type!r} is not a registered event type (vault.audit.events)"
        )
    definition.check(details or {})


# --- clips ------------------------------------------------------------------------------

CLIP_SEALED = _define(
    "clip.sealed",
    {
        "camera": _STR,
        "captured_at": _STR,
        "captured_from_mtime": _BOOL,
        "size": _INT,
        "sha256": _STR,
        "payload_size": _INT,
        "payload_sha256": _STR,
        "header_sha256": _STR,
        "name": _OPT,
    },
)
CLIP_SHREDDED = _define(
    "clip.shredded",
    {
        "camera": _STR,
        "captured_at": _OPT,
        "sha256": _STR,
        "payload_sha256": _OPT,
        "rule": _OPT,
        "why": _OPT,
        "record": _STR,
        "record_sha256": _STR,
    },
)
CLIP_RELEASED = _define(
    "clip.released",
    {
        "request": _STR,
        "export": _STR,
        "sha256": _STR,
        "delivered_sha256": _STR,
        "format": _STR,
    },
    optional={"operations": _LIST},
)
CLIP_VIEWED = _define(
    "clip.viewed", {"request": _OPT, "reason": _OPT, "sha256": _STR}, {"via": _STR}
)
CLIP_EXPORTED_AGE = _define("clip.exported_age", {"camera": _STR, "sha256": _STR, "path": _STR})
CLIP_CHECK_FAILED = _define("clip.check_failed", {"problem": _STR})
#: Written with ``clip.sealed`` when the media check finds the clip cut short.
CLIP_TRUNCATED = _define("clip.truncated", {"camera": _STR, "sha256": _STR, "why": _STR})

# --- requests ---------------------------------------------------------------------------

REQUEST_CREATED = _define(
    "request.created",
    {
        "requester": _STR,
        "organisation": _STR,
        "kind": _STR,
        "basis": _STR,
        "reference": _OPT,
        "contact": _OPT,
        "reason": _STR,
        "cameras": _LIST,
        "from": _STR,
        "to": _STR,
        "deadline": _OPT,
        "recipient": _OPT,
        "attachments": _LIST,
    },
)
REQUEST_EXPIRED = _define("request.expired", {"was": _STR, "due": _OPT})
REQUEST_WITHDRAWN = _define("request.withdrawn", {"was": _STR, "reason": _OPT})
REQUEST_DECIDED = _define(
    "request.decided",
    {
        "decision": _STR,
        "outcome": _STR,
        "reason": _STR,
        "terms": _OPT,
        "expires_at": _OPT,
        "clips": _LIST,
        "in_scope": _INT,
    },
    optional={"signed": _DICT},
)
REQUEST_REOPENED = _define(
    "request.reopened",
    {
        "was": _STR,
        "decision": _STR,
        "why": _ANY,
        "reason": _OPT,
    },
)

# --- exports ----------------------------------------------------------------------------

EXPORT_STARTED = _define(
    "export.started",
    {
        "request": _STR,
        "format": _STR,
        "folder": _STR,
        "clips": _LIST,
    },
)
EXPORT_CREATED = _define(
    "export.created",
    {
        "request": _STR,
        "format": _STR,
        "recipient": _OPT,
        "files": _LIST,
    },
)
EXPORT_ABANDONED = _define("export.abandoned", {"folder": _STR, "why": _STR})

# --- holds and retention ----------------------------------------------------------------

HOLD_ADDED = _define(
    "hold.added",
    {
        "camera": _STR,
        "from": _STR,
        "to": _STR,
        "reason": _STR,
        "until": _OPT,
    },
)
#: ``signed`` (the owner's signature over the release) came later: a release
#: without it is logged but never honoured (vault.service.holds).
HOLD_RELEASED = _define("hold.released", {"reason": _STR}, optional={"signed": _DICT})
RETENTION_RUN = _define(
    "retention.run",
    {
        "record": _STR,
        "record_sha256": _STR,
        "trigger": _STR,
        "shredded": _INT,
        "held": _INT,
        "grace_days": _INT,
    },
)

# --- keys and cameras -------------------------------------------------------------------

KEY_CREATED = _define(
    "key.created",
    {
        "recipients": _LIST,
        "signing_public_key": _STR,
        "owner_verifier": _STR,
        "device_verifier": _STR,
        "kdf_log_n": _INT,
    },
)
KEY_PASSPHRASE_CHANGED = _define("key.passphrase_changed")
#: A recovery identity was made (its recipient) and every header readdressed.
KEY_RECOVERY_CREATED = _define(
    "key.recovery_created",
    {
        "recipient": _STR,
        "shares": _INT,
        "threshold": _INT,
        "headers": _INT,
    },
)
KEY_RECOVERY_REVOKED = _define("key.recovery_revoked", {"recipient": _STR, "headers": _INT})
#: The owner's keys were sealed under a new passphrase with the recovery shares.
KEY_RECOVERED = _define("key.recovered", {"recipient": _STR})
#: A batch of headers addressed to a new recipient list: clip or attachment
#: id -> SHA-256 of its new header (what `clips verify` expects from then on).
CLIPS_READDRESSED = _define(
    "clips.readdressed",
    {
        "why": _STR,
        "recipients": _LIST,
        "headers": _DICT,
    },
)
#: A camera that only uploads over FTP has no ``folder``.
CAMERA_ADDED = _define(
    "camera.added",
    {
        "identity": _OPT,
        "pattern": _OPT,
        "retention_days": _INT,
    },
    optional={"folder": _STR, "ftp": _STR, "stream": _STR},
)
#: What changed: the pattern and/or retention, the folders, or (when an added
#: camera already existed) what ``camera.added`` records. No key is always there.
CAMERA_CHANGED = _define("camera.changed")
#: A camera's FTP login made or its password replaced (the password is never logged).
CAMERA_FTP_LOGIN = _define("camera.ftp_login", {"login": _STR, "replaced": _BOOL})
#: A camera's stream set or replaced: its URL as redacted (vault.ingest.streams), never in full.
CAMERA_STREAM = _define(
    "camera.stream",
    {"url": _STR, "segment_seconds": _INT, "audio": _BOOL, "replaced": _BOOL},
)
CAMERA_FOLDER_RECORDED = _define(
    "camera.folder_recorded",
    {
        "folder": _STR,
        "identity": _OPT,
        "was": _OPT,
    },
)

# --- backups ---------------------------------------------------------------------------

#: A backup run finished: where to, the log size its catalog copy holds, and
#: what changed there (payloads added and removed, shredded headers removed).
BACKUP_TAKEN = _define(
    "backup.taken",
    {
        "destination": _STR,
        "log_size": _INT,
        "clips": _INT,
        "payloads_added": _INT,
        "payloads_removed": _INT,
        "shredded_removed": _LIST,
        "catalog_sha256": _STR,
    },
)
#: This vault was made by `ringfence restore` from a backup.
VAULT_RESTORED = _define("vault.restored", {"source": _STR, "log_size": _INT, "taken_at": _STR})

# --- the daemon -------------------------------------------------------------------------

DAEMON_STARTED = _define("daemon.started", {"pid": _INT, "once": _BOOL, "folders": _LIST})
DAEMON_STOPPED = _define("daemon.stopped", {"sealed": _INT, "duplicates": _INT})

#: The events that move a request or a hold (vault.service.holds replays them).
POLICY_EVENTS = (
    HOLD_ADDED,
    HOLD_RELEASED,
    REQUEST_CREATED,
    REQUEST_DECIDED,
    REQUEST_WITHDRAWN,
    REQUEST_EXPIRED,
    REQUEST_REOPENED,
    EXPORT_CREATED,
)
