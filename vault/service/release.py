"""Releases: the ways footage and receipts leave the vault.

Exports (plaintext, or re-encrypted for the requester), the owner's own
viewing, refusals and their receipts. What may leave is decided by the
guard (vault.service.guard); an export's writing is an ExportJob
(vault.service.export_job); a running export is marked in flight
(vault.service.inflight) so that a killed one is swept.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.exc import SQLAlchemyError

from vault import receipts
from vault.audit import events
from vault.errors import PolicyError, RingfenceError, UsageError
from vault.fsutil import ensure_private_dir, storage_error
from vault.service.clips import ClipService
from vault.service.context import VaultContext
from vault.service.export_job import ExportJob, Progress, write_receipt_files
from vault.service.guard import ReleaseGuard
from vault.service.inflight import InFlight
from vault.service.keyring import Keyring
from vault.service.places import check_out_folder, check_receipt_destination
from vault.service.requests import RequestService
from vault.service.results import DecisionResult, ExportResult
from vault.timeutil import iso
from vault.transform import plan as transform_plan
from vault.transform import steps

__all__ = ["InFlight", "ReleaseService", "Viewing", "write_receipt_files"]

MAX_VIEW_BYTES = 512 << 20
"""The largest clip the owner may view in memory (the preview, the strip)."""
VIEW_APPROVAL = timedelta(minutes=10)
"""How long the owner's approval of their own view lasts."""

log = logging.getLogger("ringfence.export")


class ReleaseService:
    """Exports, the owner's viewing, refusals and decision receipts.

    *guard* decides what may leave; *requests* files and decides the owner's
    viewing requests and refusals; *clips* describes the clip to view.
    """

    def __init__(
        self,
        ctx: VaultContext,
        keyring: Keyring,
        requests: RequestService,
        clips: ClipService,
        guard: ReleaseGuard,
    ) -> None:
        self.ctx = ctx
        self.keyring = keyring
        self.requests = requests
        self.clips = clips
        self.guard = guard

    def export(
        self,
        request_id: str,
        out: Path,
        *,
        fmt: str = "plain",
        progress: Progress | None = None,
    ) -> ExportResult:
        """Write exactly the approved clips, the signed receipt and the audit proof to *out*."""
        if fmt not in ("plain", "age"):
            raise UsageError("--format must be plain or age")
        self.keyring.owner_keys()
        req, clips, signed_plan = self.guard.released(request_id)
        # Before anything is decrypted: every operation signed must be possible here.
        steps.check_available(signed_plan.needs)
        if fmt == "age" and not req.recipient:
            raise UsageError(f"request {request_id} has no age recipient for encrypted delivery")
        out = out.expanduser().absolute()
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise UsageError(f"{out} exists and is not an empty folder")
        check_out_folder(self.ctx, out)
        self.sweep_abandoned()
        export_id = self.ctx.new_id("export")
        staging = out.with_name(f".{out.name}.{secrets.token_hex(4)}.partial")
        with InFlight(self.ctx.layout.root, export_id, staging):
            # Logged before any plaintext is written: a killed export leaves an
            # entry saying where, and the next export or daemon start sweeps it.
            self.ctx.audit.append(
                events.EXPORT_STARTED,
                actor="owner",
                subject=export_id,
                details={
                    "request": request_id,
                    "format": fmt,
                    "folder": os.fspath(staging),
                    "clips": [c.id for c in clips],
                },
            )
            try:
                job = ExportJob(
                    self.ctx,
                    self.keyring,
                    self.guard,
                    self.requests,
                    request_id=request_id,
                    recipient=req.recipient,
                    clips=clips,
                    release=signed_plan,
                    fmt=fmt,
                    out=out,
                    staging=staging,
                    export_id=export_id,
                )
                result = job.run(progress)
            except BaseException as exc:
                shutil.rmtree(staging, ignore_errors=True)
                self._log_abandoned(export_id, staging, f"failed: {type(exc).__name__}")
                raise
        return result

    def check_receipt_destination(self, out: Path) -> Path:
        """*out* as an absolute path, if a decision's receipt may be written there."""
        return check_receipt_destination(self.ctx, out)

    def _log_abandoned(self, export_id: str, staging: Path, why: str) -> None:
        with contextlib.suppress(RingfenceError, SQLAlchemyError):
            self.ctx.audit.append(
                events.EXPORT_ABANDONED,
                actor=self.ctx.actor,
                subject=export_id,
                details={"folder": os.fspath(staging), "why": why},
            )

    def sweep_abandoned(self) -> list[str]:
        """Remove what exports killed half way left (their staging folders hold
        plaintext), and log each. Exports still running are left alone."""
        swept = []
        for export_id, staging in InFlight.abandoned(self.ctx.layout.root):
            existed = staging.exists()
            shutil.rmtree(staging, ignore_errors=True)
            if staging.exists():
                # Not removable now (permissions, a busy mount): keep the marker
                # so the next sweep tries again, and say so.
                log.warning(
                    "cannot remove %s, left by a killed export; it may hold "
                    "plaintext: remove it by hand",
                    staging,
                )
                continue
            self._log_abandoned(
                export_id,
                staging,
                "killed; its partial folder was removed"
                if existed
                else "killed before writing anything",
            )
            InFlight.forget(self.ctx.layout.root, export_id)
            swept.append(export_id)
        if swept:
            self.keyring.checkpoint()
        return swept

    # --- refusals and their receipts ---------------------------------------------

    def refuse(
        self, request_id: str, reason: str, receipt_dir: Path | None = None
    ) -> DecisionResult:
        """Refuse *request_id* (signed by the owner) and, with *receipt_dir*,
        write the refusal's receipt there: what the CLI and the TUI both do.

        The folder is checked first: a refusal must not be signed and logged
        only for its receipt to have nowhere to go.
        """
        if receipt_dir is not None:
            self.check_receipt_destination(receipt_dir)
        refusal = self.requests.decide(request_id, approve=False, reason=reason)
        if receipt_dir is None:
            return refusal
        return replace(refusal, receipt_path=self.write_decision_receipt(request_id, receipt_dir))

    def write_decision_receipt(self, request_id: str, out: Path) -> Path:
        """Write a decision's signed receipt (e.g. a refusal) into the folder *out*."""
        receipt = self.requests.decision_receipt(request_id)
        out = self.check_receipt_destination(out)
        ensure_private_dir(out, share=False)
        try:
            write_receipt_files(out, receipt)
        except OSError as exc:
            raise storage_error(exc, f"cannot write the receipt to {out}") from exc
        return out / receipts.RECEIPT_JSON

    # --- the owner's own viewing ------------------------------------------------------

    def view(
        self, clip_id: str, reason: str, *, max_bytes: int = MAX_VIEW_BYTES, via: str = "preview"
    ) -> bytes:
        """Decrypt one clip in memory for the owner to look at.

        Viewing is a release like any other: it files an ``owner`` request for
        exactly this clip, records the owner's approval, and logs the view.
        """
        return self.viewing([clip_id], reason, via=via).read(clip_id, max_bytes=max_bytes)

    def view_to(
        self, clip_id: str, reason: str, dst: BinaryIO, *, via: str = "pipe"
    ) -> tuple[int, str]:
        """Decrypt one clip into *dst* (a player's standard input), as :meth:`view`
        does into memory: the same request, approval and log entry. Returns the
        size and SHA-256 written; *dst* gets the plaintext as it is decrypted."""
        return self.viewing([clip_id], reason, via=via).write_to(clip_id, dst)

    def viewing(self, clip_ids: Sequence[str], reason: str, *, via: str = "preview") -> Viewing:
        """The owner's view of *clip_ids*: one ``owner`` request for exactly those
        clips, approved (for ten minutes) and signed now; each clip is logged and
        decrypted only when :meth:`Viewing.read` or :meth:`Viewing.write_to` opens it.

        The request screen's strip of frames looks at many clips this way with one
        request and one signature, instead of one of each per clip.
        """
        if not clip_ids:
            raise UsageError("no clip to view")
        infos = [self.clips.get(c) for c in dict.fromkeys(clip_ids)]
        for info in infos:
            if info.shredded:
                raise PolicyError(f"clip {info.id} was shredded: it can no longer be opened")
        request_id = self.requests.add(
            {
                "requester": "vault owner",
                "organisation": "self",
                "kind": "owner",
                "basis": "owner",
                "reason": reason,
                "cameras": sorted({i.camera for i in infos}),
                "from": iso(min(i.captured_at for i in infos)),
                "to": iso(max(i.captured_at for i in infos) + timedelta(seconds=1)),
            }
        )
        self.requests.decide(
            request_id,
            approve=True,
            reason=reason,
            clips=[i.id for i in infos],
            expires=self.ctx.clock() + VIEW_APPROVAL,
            # The owner looks at the clips as they were recorded (--export-audio
            # governs what leaves for others, not the owner's own viewing).
            release=transform_plan.whole([i.id for i in infos]),
        )
        _req, clips, _plan = self.guard.released(request_id)
        return Viewing(self, request_id, reason, via, {c.id: c for c in clips})


class Viewing:
    """Clips the owner approved for their own eyes: each one logged, then decrypted.

    Made by :meth:`ReleaseService.viewing`. Before each clip is opened the
    guard is asked again whether the approval still stands (it lapses after
    ten minutes, or when the log no longer has it open).
    """

    def __init__(
        self,
        releases: ReleaseService,
        request_id: str,
        reason: str,
        via: str,
        clips: dict[str, Any],
    ) -> None:
        self._releases = releases
        self.request_id = request_id
        self.reason = reason
        self.via = via
        self._clips = clips

    @property
    def clip_ids(self) -> list[str]:
        return list(self._clips)

    def read(self, clip_id: str, *, max_bytes: int = MAX_VIEW_BYTES) -> bytes:
        """The clip's plaintext, decrypted in memory."""
        clip = self._clip(clip_id)
        if clip.size > max_bytes:
            raise UsageError(f"clip {clip_id} is too large to preview in memory")
        buf = io.BytesIO()
        self.write_to(clip_id, buf)
        return buf.getvalue()

    def write_to(self, clip_id: str, dst: BinaryIO) -> tuple[int, str]:
        """Log the view, then decrypt the clip into *dst*; its size and SHA-256."""
        clip = self._clip(clip_id)
        releases = self._releases
        releases.guard.still_releasable(self.request_id)
        # Logged before anything is decrypted, like every release.
        releases.ctx.audit.append(
            events.CLIP_VIEWED,
            actor="owner",
            subject=clip_id,
            details={
                "request": self.request_id,
                "reason": self.reason,
                "sha256": clip.sha256,
                "via": self.via,
            },
        )
        try:
            return releases.guard.plaintext_to(clip, dst)
        finally:
            releases.keyring.checkpoint()

    def _clip(self, clip_id: str) -> Any:
        clip = self._clips.get(clip_id)
        if clip is None:
            raise PolicyError(f"clip {clip_id} is not part of this view")
        return clip
