"""Clips: listing, details, the sealed age file, and payload checks."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from vault.catalog.models import Camera, Clip
from vault.errors import NotFound, PolicyError, UsageError
from vault.fsutil import atomic_writer, storage_error
from vault.service.base import VaultBase
from vault.timeutil import as_utc, iso

READ_CHUNK = 1 << 20


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
    container: str | None
    duration_s: float | None
    width: int | None
    height: int | None
    codec: str | None
    shredded_at: datetime | None

    @property
    def shredded(self) -> bool:
        return self.shredded_at is not None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "camera": self.camera,
            "captured_at": iso(self.captured_at),
            "ingested_at": iso(self.ingested_at),
            "size": self.size,
            "sha256": self.sha256,
            "payload_size": self.payload_size,
            "payload_sha256": self.payload_sha256,
            "original_name": self.original_name,
            "media": {
                "container": self.container,
                "duration_s": self.duration_s,
                "width": self.width,
                "height": self.height,
                "codec": self.codec,
            },
            "shredded_at": iso(self.shredded_at),
        }


CLIP_COLUMNS = (
    Clip.id,
    Camera.name,
    Clip.captured_at,
    Clip.ingested_at,
    Clip.size,
    Clip.sha256,
    Clip.payload_size,
    Clip.payload_sha256,
    Clip.original_name,
    Clip.container,
    Clip.duration_s,
    Clip.width,
    Clip.height,
    Clip.codec,
    Clip.shredded_at,
)


def clip_query() -> Any:
    return select(*CLIP_COLUMNS).join(Camera, Camera.id == Clip.camera_id)  # type: ignore[arg-type]


def row_to_info(row: Any) -> ClipInfo:
    return ClipInfo(*row)


@dataclass(frozen=True)
class VerifyProblem:
    clip_id: str
    problem: str


class ClipOps(VaultBase):
    def clips(
        self,
        *,
        camera: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        include_shredded: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[ClipInfo]:
        """Clips by capture time, oldest first. *until* is exclusive."""
        q = clip_query()
        if camera is not None:
            cam_id = self._camera_id(camera)
            q = q.where(Clip.camera_id == cam_id)
        if since is not None:
            q = q.where(Clip.captured_at >= as_utc(since))
        if until is not None:
            q = q.where(Clip.captured_at < as_utc(until))
        if not include_shredded:
            q = q.where(Clip.shredded_at.is_(None))  # type: ignore[union-attr]
        q = q.order_by(Clip.captured_at, Clip.id).offset(offset)
        if limit is not None:
            q = q.limit(limit)
        with self.reader.connect() as conn:
            return [row_to_info(r) for r in conn.execute(q)]

    def _camera_id(self, name: str) -> int:
        with Session(self.reader) as s:
            cid = s.execute(select(Camera.id).where(Camera.name == name)).scalar()
        if cid is None:
            raise NotFound(f"no camera named {name!r}")
        return int(cid)

    def clip(self, clip_id: str) -> ClipInfo:
        with self.reader.connect() as conn:
            row = conn.execute(clip_query().where(Clip.id == clip_id)).first()
        if row is None:
            raise NotFound(f"no clip {clip_id!r}")
        return row_to_info(row)

    def _header(self, clip_id: str) -> bytes:
        with self.reader.connect() as conn:
            row = conn.execute(select(Clip.header).where(Clip.id == clip_id)).first()
        if row is None:
            raise NotFound(f"no clip {clip_id!r}")
        if row[0] is None:
            raise PolicyError(f"clip {clip_id} was shredded: its key no longer exists")
        return bytes(row[0])

    def export_age(self, clip_id: str, out: Path) -> Path:
        """Write the clip as a standard age file (header + payload); nothing is decrypted."""
        header = self._header(clip_id)
        info = self.clip(clip_id)
        if out.exists() and out.is_dir():
            out = out / f"{clip_id}.age"
        target = out.absolute().resolve()
        vault_root = self.root.resolve()
        if target == vault_root or vault_root in target.parents:
            # A header copy inside the vault would survive shredding.
            raise UsageError(f"{out} is inside the vault folder; write it elsewhere")
        if out.exists():
            raise UsageError(f"{out} exists; choose another name")
        try:
            with self.store.open(clip_id) as src, atomic_writer(out, mode=0o600, share=False) as dst:
                dst.write(header)
                while chunk := src.read(READ_CHUNK):
                    dst.write(chunk)
        except OSError as exc:
            raise storage_error(exc, f"cannot write {out}") from exc
        self.audit.append(
            "clip.exported_age",
            actor=self.actor,
            subject=clip_id,
            details={"camera": info.camera, "sha256": info.sha256, "path": os.fspath(out)},
        )
        self.checkpoint()
        return out

    def verify_clips(self) -> tuple[int, list[VerifyProblem]]:
        """Hash every stored payload and compare with the catalog, and compare
        each catalog row with the ``clip.sealed`` entry the audit log holds for
        it (an edited row, or one the log never saw, is caught). Needs no key."""
        problems: list[VerifyProblem] = []
        checked = 0
        sealed = self.audit.sealed_clips()
        with self.reader.connect() as conn:
            all_rows = conn.execute(
                select(Clip.id, Clip.payload_sha256, Clip.payload_size, Clip.sha256, Clip.size,
                       Clip.shredded_at)
            ).all()
        for clip_id, payload_sha, _psize, sha, size, _shredded in all_rows:
            logged = sealed.get(clip_id)
            if logged is None:
                problems.append(VerifyProblem(clip_id, "no clip.sealed entry in the audit log"))
            elif logged != (sha, payload_sha, size):
                problems.append(VerifyProblem(
                    clip_id, "the catalog row differs from its clip.sealed audit entry"))
        rows = [(r[0], r[1], r[2]) for r in all_rows if r[5] is None]
        for clip_id, want, size in rows:
            checked += 1
            try:
                digest = hashlib.sha256()
                n = 0
                with self.store.open(clip_id) as f:
                    while chunk := f.read(READ_CHUNK):
                        digest.update(chunk)
                        n += len(chunk)
            except NotFound:
                problems.append(VerifyProblem(clip_id, "payload missing from the store"))
                continue
            if n != size or digest.hexdigest() != want:
                problems.append(VerifyProblem(clip_id, "payload hash mismatch"))
        for p in problems:
            self.audit.append(
                "clip.check_failed",
                actor=self.actor,
                subject=p.clip_id,
                details={"problem": p.problem},
            )
        if problems:
            self.checkpoint()
        return checked, problems
