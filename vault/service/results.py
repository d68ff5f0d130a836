"""What the services return: frozen read models and results, one vocabulary
for the CLI, the TUI and the daemon.

Each result's ``--json`` form is ``to_json(result)`` (vault.jsonout): the
field metadata below says where it differs from the field names. Nothing
here imports SQLAlchemy or cryptography, so that ``ringfence status`` can
build its report without them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from vault.jsonout import JSON_OMIT, JSON_OMIT_NONE, json_name, to_json
from vault.requests import Status, is_urgent

if TYPE_CHECKING:
    from vault.ingest.folders import FolderStatus

__all__ = [
    "CameraInfo",
    "ClipInfo",
    "DecisionResult",
    "ExportResult",
    "HoldInfo",
    "KeyInfo",
    "Recovered",
    "RecoveryRevoked",
    "RequestInfo",
    "ScrubResult",
    "ShredResult",
    "CameraStatus",
    "DaemonState",
    "HeldBack",
    "VaultStatus",
    "json_name",
    "to_json",
]

#: A pending request whose deadline is this close is flagged near its deadline.
NEAR_DEADLINE = timedelta(hours=48)


# --- read models --------------------------------------------------------------------


@dataclass(frozen=True)
class ClipInfo:
    id: str
    camera: str
    captured_at: datetime
    ingested_at: datetime
    size: int
    sha256: str
    payload_size: int
    payload_sha256: str
    original_name: str
    container: str | None = field(metadata=json_name("container", "media"))
    duration_s: float | None = field(metadata=json_name("duration_s", "media"))
    width: int | None = field(metadata=json_name("width", "media"))
    height: int | None = field(metadata=json_name("height", "media"))
    codec: str | None = field(metadata=json_name("codec", "media"))
    shredded_at: datetime | None
    #: The media check found it cut short: its bytes are kept, never trusted as whole.
    truncated: bool = False

    @property
    def shredded(self) -> bool:
        return self.shredded_at is not None


@dataclass(frozen=True)
class CameraInfo:
    name: str
    folders: list[str]
    pattern: str | None
    retention_days: int
    clips: int
    ftp: str | None = None  # its FTP login, if it has one
    stream: str | None = None  # its stream's URL, passwords hidden, if it has one
    #: False: every export of this camera's footage has its sound removed.
    export_audio: bool = True


@dataclass(frozen=True)
class HoldInfo:
    kind: str  # "hold" (manual) | "request"
    id: str
    state: str  # active | released | lapsed | ended
    cameras: list[str]
    scope_from: datetime = field(metadata=json_name("from"))
    scope_to: datetime = field(metadata=json_name("to"))
    reason: str
    until: datetime | None  # when holding ends; None: until released / decided
    created_at: datetime
    released_at: datetime | None = None
    release_reason: str | None = None


@dataclass(frozen=True)
class RequestInfo:
    id: str
    status: str
    created_at: datetime
    requester: str
    organisation: str
    kind: str
    basis: str
    reason: str
    cameras: list[str] = field(metadata=json_name("cameras", "scope"))
    scope_from: datetime = field(metadata=json_name("from", "scope"))
    scope_to: datetime = field(metadata=json_name("to", "scope"))
    contact: str | None = None
    reference: str | None = None
    deadline: datetime | None = None
    recipient: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    decision: dict[str, Any] | None = None
    exports: list[dict[str, Any]] = field(default_factory=list)

    @property
    def urgent(self) -> bool:
        return is_urgent(self.basis)

    def near_deadline(self, now: datetime) -> bool:
        return (
            self.status == Status.PENDING
            and self.deadline is not None
            and self.deadline - now <= NEAR_DEADLINE
        )

    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = ("urgent",)

    def as_json(self, now: datetime | None = None) -> dict[str, Any]:
        """to_json(self), and with *now*, whether the deadline is near."""
        out: dict[str, Any] = to_json(self)
        if now is not None:
            out["near_deadline"] = self.near_deadline(now)
        return out


# --- results ------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionResult:
    """A decision the owner signed: its receipt, and where the receipt was
    written (a refusal's, when a folder was asked for).

    JSON: ``{"receipt": {...}}``, with ``"receipt_path"`` when one was written.
    """

    receipt: dict[str, Any]
    receipt_path: Path | None = field(default=None, metadata=JSON_OMIT_NONE)

    @property
    def request_id(self) -> str:
        return str(self.receipt["request"]["id"])

    @property
    def outcome(self) -> str:
        return str(self.receipt["decision"]["outcome"])

    @property
    def clips(self) -> list[dict[str, Any]]:
        """The receipt's clips: what the decision releases (none for a refusal)."""
        return list(self.receipt.get("clips") or [])


@dataclass(frozen=True)
class ExportResult:
    """An export that was written: its id, its folder and its signed receipt.

    JSON: ``{"export": id, "out": folder, "files": number of clips}`` (the
    receipt is in the folder; ``receipt show`` prints it).
    """

    export_id: str = field(metadata=json_name("export"))
    out: Path
    receipt: dict[str, Any] = field(metadata=JSON_OMIT)

    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = ("files",)

    @property
    def clips(self) -> list[dict[str, Any]]:
        """The receipt's clips, each with what was delivered."""
        return list(self.receipt.get("clips") or [])

    @property
    def files(self) -> int:
        return len(self.clips)


@dataclass(frozen=True)
class ScrubResult:
    """The catalog files after a shred: the write-ahead log truncated, whether
    the database was rebuilt, and the files still holding a shredded key
    (always empty: a copy that survives is an IntegrityError)."""

    wal_truncated: bool
    vacuumed: bool
    copies_left: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShredResult:
    """One clip the owner shredded: when, its signed deletion record, the scrub."""

    clip: str
    shredded_at: datetime
    record: str
    scrub: ScrubResult


@dataclass(frozen=True)
class KeyInfo:
    """The vault's public keys: what `key show` prints and `init` reports."""

    recipient: str
    recovery_recipients: tuple[str, ...]
    signing_public_key: str
    owner_verifier: str
    device_verifier: str
    origin: str


@dataclass(frozen=True)
class RecoveryRevoked:
    """A recovery recipient taken out of every header and out of config.toml."""

    revoked: str
    headers: int
    note: str = "copies exported or backed up before this keep the old header"


@dataclass(frozen=True)
class Recovered:
    """The owner's keys sealed under a new passphrase from the recovery shares."""

    recipient: str
    recovered: bool = True


# --- the vault's status ---------------------------------------------------------------


@dataclass(frozen=True)
class DaemonState:
    """The daemon as its lock and heartbeat file tell it (no daemon: all empty
    but the last beat it wrote)."""

    running: bool
    pid: int | None
    started_at: str | None
    last_beat: str | None
    #: Its newest errors (at most ten), while it runs.
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class CameraStatus:
    """One camera in ``status``: its clips, the newest, and what to look at."""

    name: str
    clips: int
    last_ingest: datetime | None
    #: Clips whose name did not match the camera's pattern (capture time = mtime).
    time_from_mtime: int
    truncated: int
    #: Whether the camera has an FTP login.
    ftp: bool


@dataclass(frozen=True)
class HeldBack:
    """A file the daemon left in a drop folder on purpose (a shredded clip's bytes)."""

    path: str
    clip: str | None
    reason: str | None


@dataclass(frozen=True)
class VaultStatus:
    """What ``ringfence status`` reports, all of one moment, read without any key.

    JSON: an object of these fields (docs/cli.md, status).
    """

    vault: Path
    daemon: DaemonState
    #: Each receiver the daemon runs (vault.ingest.receivers): listening
    #: address, counts, last error, as its heartbeat says; empty when no daemon runs.
    receivers: dict[str, dict[str, Any]]
    cameras: tuple[CameraStatus, ...]
    folders: tuple[FolderStatus, ...]
    clips: int
    truncated: int
    last_ingest: datetime | None
    files_waiting: int
    held_back: tuple[HeldBack, ...]
    #: Stored payloads the catalog does not know.
    unknown_payloads: tuple[str, ...]
    store_bytes: int
    free_bytes: int
    low_disk: bool
    audit_size: int
