"""What a front end calls on an open vault, as typed Protocols.

The terminal app receives an ``AppVault`` in its constructor
(``RingfenceApp(vault, ...)``) and calls nothing else; the commands get a
``CliVault`` (the app's calls and the owner's administration: cameras, holds,
retention, keys, backups) from ``vault.cli.common.open_vault``. A
``vault.service.Vault`` is both, and a test may hand either a stand-in. The
daemon is not a front end: it is built on the ``Vault`` itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from vault.audit.log import AuditLog
from vault.config import Config
from vault.keys import OwnerKeys
from vault.service.export_job import Progress
from vault.service.results import (
    CameraInfo,
    ClipInfo,
    DecisionResult,
    ExportResult,
    RequestInfo,
    VaultStatus,
)
from vault.transform.plan import Choices, ReleasePlan

if TYPE_CHECKING:
    from vault.service.backup import BackupReport
    from vault.service.cameras import FtpLogin
    from vault.service.clips import ClipCheck
    from vault.service.recovery import RecoveryKey
    from vault.service.release import Viewing
    from vault.service.results import (
        HoldInfo,
        KeyInfo,
        Recovered,
        RecoveryRevoked,
        ShredResult,
    )
    from vault.service.retention import RetentionReport


class CamerasAPI(Protocol):
    def all(self) -> list[CameraInfo]: ...


class ClipsAPI(Protocol):
    def all(
        self,
        *,
        camera: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        include_shredded: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[ClipInfo]: ...


class RequestsAPI(Protocol):
    def all(
        self, status: str | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[RequestInfo]: ...

    def get(self, request_id: str) -> RequestInfo: ...

    def scope_clips(
        self, request_id: str, *, limit: int | None = None, offset: int = 0
    ) -> list[ClipInfo]: ...

    def plan_release(
        self,
        request_id: str,
        *,
        clips: list[str] | None = None,
        exclude: list[str] | None = None,
        choices: Choices | None = None,
    ) -> ReleasePlan: ...

    def decide(
        self,
        request_id: str,
        *,
        approve: bool,
        reason: str,
        clips: list[str] | None = None,
        exclude: list[str] | None = None,
        expires: datetime | None = None,
        terms: str | None = None,
        choices: Choices | None = None,
        release: ReleasePlan | None = None,
    ) -> DecisionResult: ...

    def reopen(self, request_id: str, reason: str) -> None: ...


class ReleasesAPI(Protocol):
    def export(
        self, request_id: str, out: Path, *, fmt: str = "plain", progress: Progress | None = None
    ) -> ExportResult: ...

    def view(self, clip_id: str, reason: str, *, max_bytes: int = ..., via: str = ...) -> bytes: ...

    def view_to(
        self, clip_id: str, reason: str, dst: BinaryIO, *, via: str = ...
    ) -> tuple[int, str]: ...

    def viewing(self, clip_ids: Sequence[str], reason: str, *, via: str = ...) -> Viewing: ...

    def refuse(
        self, request_id: str, reason: str, receipt_dir: Path | None = None
    ) -> DecisionResult: ...


class StatusAPI(Protocol):
    def report(self) -> VaultStatus: ...


class AppVault(Protocol):
    """An open vault as the terminal app uses it."""

    @property
    def cameras(self) -> CamerasAPI: ...

    @property
    def clips(self) -> ClipsAPI: ...

    @property
    def requests(self) -> RequestsAPI: ...

    @property
    def releases(self) -> ReleasesAPI: ...

    @property
    def status(self) -> StatusAPI: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def config(self) -> Config: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...

    @property
    def unlocked(self) -> bool: ...

    def unlock(self, passphrase: str) -> OwnerKeys: ...

    def lock(self) -> None: ...

    def close(self) -> None: ...

    def verifier_keys(self) -> Sequence[str]: ...


# --- what the commands call besides -------------------------------------------------


class CameraCommands(CamerasAPI, Protocol):
    def get(self, name: str) -> CameraInfo: ...

    def add(
        self,
        name: str,
        folder: Path,
        *,
        pattern: str | None = None,
        retention_days: int | None = None,
    ) -> CameraInfo: ...

    def add_ftp(
        self, name: str, *, pattern: str | None = None, retention_days: int | None = None
    ) -> tuple[CameraInfo, FtpLogin]: ...

    def ftp_password(self, name: str) -> FtpLogin: ...

    def add_stream(
        self,
        name: str,
        url: str,
        *,
        segment_seconds: int | None = None,
        audio: bool = True,
        pattern: str | None = None,
        retention_days: int | None = None,
    ) -> CameraInfo: ...

    def change(
        self,
        name: str,
        *,
        pattern: str | None = None,
        retention_days: int | None = None,
        export_audio: bool | None = None,
    ) -> CameraInfo: ...

    def move(self, name: str, folder: Path) -> tuple[list[str], CameraInfo]: ...


class ClipCommands(ClipsAPI, Protocol):
    def get(self, clip_id: str) -> ClipInfo: ...

    def export_age(self, clip_id: str, out: Path) -> Path: ...

    def verify(self) -> ClipCheck: ...


class RequestCommands(RequestsAPI, Protocol):
    def add(self, fields: dict[str, Any]) -> str: ...

    def import_file(self, path: Path) -> str: ...

    def withdraw(self, request_id: str, reason: str | None = None) -> None: ...


class HoldsAPI(Protocol):
    def add(
        self,
        camera: str,
        since: datetime,
        until: datetime,
        reason: str,
        hold_until: datetime | None = None,
    ) -> str: ...

    def all(self, include_released: bool = False) -> list[HoldInfo]: ...

    def release(self, hold_id: str, reason: str) -> HoldInfo: ...


class RetentionAPI(Protocol):
    def run(self, dry_run: bool = False) -> RetentionReport: ...

    def shred(self, clip_id: str, reason: str, *, actor: str = "owner") -> ShredResult: ...

    def deletion_records(self) -> list[dict[str, Any]]: ...


class BackupsAPI(Protocol):
    def take(self, destination: str) -> BackupReport: ...


class RecoveryAPI(Protocol):
    def create(self, shares: int = 1, threshold: int = 1) -> RecoveryKey: ...

    def revoke(self, recipient: str | None = None) -> RecoveryRevoked: ...

    def recover(self, shares: list[str], new_passphrase: str) -> Recovered: ...


class CliVault(AppVault, Protocol):
    """An open vault as the commands use it."""

    @property
    def cameras(self) -> CameraCommands: ...

    @property
    def clips(self) -> ClipCommands: ...

    @property
    def requests(self) -> RequestCommands: ...

    @property
    def holds(self) -> HoldsAPI: ...

    @property
    def retention(self) -> RetentionAPI: ...

    @property
    def backups(self) -> BackupsAPI: ...

    @property
    def recovery(self) -> RecoveryAPI: ...

    @property
    def root(self) -> Path: ...

    def key_info(self) -> KeyInfo: ...

    def change_passphrase(self, old: str, new: str) -> None: ...

    def checkpoint(self) -> str | None: ...
