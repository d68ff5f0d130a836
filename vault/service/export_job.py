"""One export of a request's approved clips: staged, recorded, signed, moved into place.

The guard (vault.service.guard) has allowed the clips before the job starts;
it is asked again before each clip and inside the transaction that records
the release, so a withdrawal or an expiry during a long export stops it.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, cast

from sqlalchemy import insert, select, update

from vault import age
from vault.audit import events
from vault.catalog.models import Camera, Export, Request
from vault.fsutil import (
    ensure_private_dir,
    fsync_dir,
    open_regular,
    replace_durably,
    storage_error,
)
from vault.hashio import HashingWriter
from vault.receipts import handover
from vault.service.context import VaultContext
from vault.service.guard import ReleaseGuard
from vault.service.keyring import Keyring
from vault.service.receipts_build import export_receipt
from vault.service.requests import RequestService
from vault.service.results import ExportResult
from vault.timeutil import as_utc, iso
from vault.transform import steps
from vault.transform.plan import ReleasePlan

Progress = Callable[[int, int, str], None]  # (done bytes, total bytes, clip id)


#: The folder inside the staging folder where derived files are made.
WORK = ".work"


def _safe_ext(name: str) -> str:
    ext = os.path.splitext(name)[1].lower()
    return ext if re.fullmatch(r"\.[a-z0-9]{1,8}", ext) else ".bin"


class ExportJob:
    """Exactly the approved *clips* of *request_id*, written to *out* through
    the *staging* folder (already marked in flight and logged as started).

    With *fmt* ``age`` each clip is re-encrypted for *recipient*; with
    ``plain`` it is decrypted. A clip whose signed *release* plan lists
    operations is delivered as the file those operations make from it
    (vault.transform.steps). The owner's keys are taken once, at the start.
    """

    def __init__(
        self,
        ctx: VaultContext,
        keyring: Keyring,
        guard: ReleaseGuard,
        requests: RequestService,
        *,
        request_id: str,
        recipient: str | None,
        clips: list[Any],
        release: ReleasePlan,
        fmt: str,
        out: Path,
        staging: Path,
        export_id: str,
    ) -> None:
        self.ctx = ctx
        self.keyring = keyring
        self.guard = guard
        self.requests = requests
        self.keys = keyring.owner_keys()
        self.request_id = request_id
        self.recipient = recipient
        self.clips = clips
        self.release = release
        self._names: dict[int, str] | None = None
        self.fmt = fmt
        self.out = out
        self.staging = staging
        self.export_id = export_id

    def run(self, progress: Progress | None = None) -> ExportResult:
        """Write the clips into the staging folder, record the release, sign the
        receipt, then move it all to *out*."""
        request_id, clips, fmt = self.request_id, self.clips, self.fmt
        out, staging, export_id, keys = self.out, self.staging, self.export_id, self.keys
        total = sum(c.size for c in clips)
        done = 0
        delivered: dict[str, dict[str, Any]] = {}
        try:
            ensure_private_dir(staging, share=False)
            ensure_private_dir(staging / "clips", share=False)
            for clip in clips:
                self.guard.still_releasable(request_id)
                stamp = clip.captured_at.strftime("%Y%m%dT%H%M%SZ")
                cam_dir = ensure_private_dir(staging / "clips" / str(clip.camera_id), share=False)
                operations = self.release.for_clip(clip.id).operations
                ext = ".mp4" if operations else _safe_ext(clip.original_name)
                name = f"{stamp}_{clip.id}{ext}" + (".age" if fmt == "age" else "")
                target = cam_dir / name
                if operations:
                    size, digest = self._write_derived(clip, operations, target)
                else:
                    size, digest = self._write_original(clip, target)
                delivered[clip.id] = {
                    "file": f"clips/{clip.camera_id}/{name}",
                    "format": fmt,
                    "size": size,
                    "sha256": digest,
                }
                if operations:
                    delivered[clip.id]["derived_from"] = {"clip": clip.id, "sha256": clip.sha256}
                    delivered[clip.id]["operations"] = operations
                done += clip.size
                if progress:
                    progress(done, total, clip.id)
            shutil.rmtree(staging / WORK, ignore_errors=True)
        except OSError as exc:
            raise storage_error(exc, f"cannot write the export to {out}") from exc
        # Camera ids are catalog internals: give folders the camera names.
        delivered = self._name_camera_folders(delivered)

        now = self.ctx.clock()
        with self.ctx.engine.begin() as conn:
            # Withdrawn or expired while the files were written: nothing leaves.
            self.guard.releasable(conn, request_id)
            for clip in clips:
                d = delivered[clip.id]
                self.ctx.audit.append(
                    events.CLIP_RELEASED,
                    actor="owner",
                    subject=clip.id,
                    details={
                        "request": request_id,
                        "export": export_id,
                        "sha256": clip.sha256,
                        "delivered_sha256": d["sha256"],
                        "format": fmt,
                        # What the delivered file was made by (absent: the original).
                        **({"operations": d["operations"]} if d.get("operations") else {}),
                    },
                    conn=conn,
                )
            index = self.ctx.audit.append(
                events.EXPORT_CREATED,
                actor="owner",
                subject=export_id,
                details={
                    "request": request_id,
                    "format": fmt,
                    "recipient": self.recipient if fmt == "age" else None,
                    "files": [
                        {
                            "clip": c.id,
                            "file": delivered[c.id]["file"],
                            "sha256": delivered[c.id]["sha256"],
                        }
                        for c in clips
                    ],
                },
                conn=conn,
            )
            conn.execute(
                insert(Export).values(
                    id=export_id,
                    request_id=request_id,
                    created_at=now,
                    format=fmt,
                    out_dir=str(out),
                    audit_index=index,
                )
            )
            conn.execute(update(Request).where(Request.id == request_id).values(updated_at=now))
        note = self.keyring.checkpoint_with_owner()
        receipt = export_receipt(
            self.requests.receipt_source(),
            request_id,
            {
                "id": export_id,
                "format": fmt,
                "created_at": iso(now),
                "recipient": self.recipient if fmt == "age" else None,
            },
            delivered,
            index,
            note,
            keys,
        )
        try:
            write_receipt_files(staging, receipt)
            if out.exists():
                _move_into(staging, out)
                fsync_dir(out.parent)
            else:
                replace_durably(staging, out)
        except OSError as exc:
            raise storage_error(exc, f"cannot finish the export in {out}") from exc
        return ExportResult(export_id, out, receipt)

    def _write_original(self, clip: Any, target: Path) -> tuple[int, str]:
        """The clip as ingested: decrypted, or re-encrypted for the recipient."""
        with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            if self.fmt == "plain":
                size, digest = self.guard.plaintext_to(clip, f)
            else:
                sink = HashingWriter(f)
                sink.write(self.guard.rewrapped_header(clip, self.recipient))
                with self.ctx.store.open(clip.id) as payload:
                    # Neither the header nor the payload is under the owner's
                    # signature; the plaintext hash is. Every payload byte is
                    # delivered as it is decrypted and checked, so what leaves
                    # is exactly what was checked.
                    self.guard.plaintext_to(
                        clip, cast(BinaryIO, _Discard()), cast(BinaryIO, _Tee(payload, sink))
                    )
                size, digest = sink.count, sink.sha256.hexdigest()
            f.flush()
            os.fsync(f.fileno())
        return size, digest

    def _write_derived(
        self, clip: Any, operations: list[dict[str, Any]], target: Path
    ) -> tuple[int, str]:
        """A file made from the clip by exactly the signed *operations*
        (vault.transform.steps), in plaintext or encrypted for the recipient.
        The work files stay in the staging folder, which a killed export's
        sweep removes."""
        work = ensure_private_dir(self.staging / WORK, share=False)
        original = work / f"{clip.id}.orig"
        with os.fdopen(os.open(original, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            self.guard.plaintext_to(clip, f)
        source = steps.ClipSource(
            clip.id, self._camera_names()[clip.camera_id], as_utc(clip.captured_at), clip.sha256
        )
        made = steps.run(operations, original, work, source)
        original.unlink()
        with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            sink = HashingWriter(f)
            with open_regular(made) as src:
                if self.fmt == "plain":
                    shutil.copyfileobj(src, sink)
                else:
                    assert self.recipient is not None
                    age.encrypt(src, cast(BinaryIO, sink), [self.recipient])
            f.flush()
            os.fsync(f.fileno())
        made.unlink()
        return sink.count, sink.sha256.hexdigest()

    def _camera_names(self) -> dict[int, str]:
        if self._names is None:
            with self.ctx.reader.connect() as conn:
                self._names = dict(conn.execute(select(Camera.id, Camera.name)).all())
        return self._names

    def _name_camera_folders(
        self, delivered: dict[str, dict[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        """Camera ids are catalog internals: give the folders the camera names."""
        staging, clips = self.staging, self.clips
        names = self._camera_names()
        for cam_id in {c.camera_id for c in clips}:
            os.rename(staging / "clips" / str(cam_id), staging / "clips" / names[cam_id])
        for clip in clips:
            d = delivered[clip.id]
            d["file"] = d["file"].replace(
                f"clips/{clip.camera_id}/", f"clips/{names[clip.camera_id]}/", 1
            )
        return delivered


class _Discard:
    """A sink that keeps nothing: for checking a payload's plaintext hash."""

    def write(self, data: bytes) -> int:
        return len(data)


class _Tee:
    """Reads from *src*, writing every byte read to *copy* as well."""

    def __init__(self, src: Any, copy: Any) -> None:
        self.src = src
        self.copy = copy

    def read(self, n: int = -1) -> bytes:
        data: bytes = self.src.read(n)
        if data:
            self.copy.write(data)
        return data

    def readinto(self, buf: Any) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)


def _move_into(staging: Path, out: Path) -> None:
    """*out* exists and is empty: move the staged content into it."""
    for child in staging.iterdir():
        os.replace(child, out / child.name)
    staging.rmdir()


def write_receipt_files(
    folder: Path, receipt: dict[str, Any], extra_sums: list[tuple[str, str]] | None = None
) -> None:
    """The receipt and its handover files (vault.receipts.handover) in *folder*;
    SHA256SUMS last, also naming *extra_sums* (name, SHA-256) already there."""
    files = handover.receipt_files(receipt)
    files.append((handover.SUMS, handover.sums_for(receipt, files, extra_sums or [])))
    for name, data in files:
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
