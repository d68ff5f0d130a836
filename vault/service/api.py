"""What a front end calls on an open vault, as typed Protocols.

The terminal app receives an object of this shape in its constructor
(``RingfenceApp(vault, ...)``) and calls nothing else: a ``vault.service.Vault``
is one, and a test may hand it a stand-in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

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
    from vault.service.release import Viewing


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
