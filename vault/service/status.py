"""What the vault is doing: daemon, clips per camera, waiting files, storage."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from vault.catalog.models import Camera, Clip
from vault.ingest.scan import candidates
from vault.lock import is_held, read_heartbeat
from vault.service.base import VaultBase
from vault.timeutil import iso


class StatusOps(VaultBase):
    def daemon_running(self) -> bool:
        return is_held(self.layout.lock)

    def files_waiting(self) -> int:
        from sqlmodel import Session

        from vault.catalog.models import CameraFolder

        with Session(self.reader) as s:
            folders = [Path(f.path) for f in s.exec(select(CameraFolder)).scalars()]
        return sum(1 for f in folders for _ in candidates(f))

    def stored_bytes(self) -> int:
        """Bytes of sealed payloads, from the catalog (no walk over the store)."""
        from vault.catalog.models import Attachment

        with self.reader.connect() as conn:
            clips = conn.execute(
                select(func.coalesce(func.sum(Clip.payload_size), 0)).where(
                    Clip.shredded_at.is_(None)  # type: ignore[union-attr]
                )
            ).scalar()
            atts = conn.execute(
                select(func.coalesce(func.sum(Attachment.size), 0)).where(
                    Attachment.header.is_not(None)  # type: ignore[union-attr]
                )
            ).scalar()
        return int(clips or 0) + int(atts or 0)

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free

    def status(self) -> dict[str, Any]:
        beat = read_heartbeat(self.layout.daemon_state)
        running = self.daemon_running()
        with self.reader.connect() as conn:
            rows = conn.execute(
                select(Camera.name, func.count(Clip.id), func.max(Clip.ingested_at))
                .select_from(Camera)
                .outerjoin(Clip, (Clip.camera_id == Camera.id) & Clip.shredded_at.is_(None))  # type: ignore[union-attr]
                .group_by(Camera.id)
                .order_by(Camera.name)
            ).all()
        last = max((r[2] for r in rows if r[2] is not None), default=None)
        free = self.free_bytes()
        return {
            "vault": str(self.root),
            "daemon": {
                "running": running,
                "pid": beat.get("pid") if running else None,
                "started_at": beat.get("started_at") if running else None,
                "last_beat": beat.get("beat_at"),
                "errors": beat.get("errors", []) if running else [],
            },
            "cameras": [{"name": r[0], "clips": int(r[1]), "last_ingest": iso(r[2])} for r in rows],
            "clips": sum(int(r[1]) for r in rows),
            "last_ingest": iso(last),
            "files_waiting": self.files_waiting(),
            "store_bytes": self.stored_bytes(),
            "free_bytes": free,
            "low_disk": free < self.config.min_free_bytes,
            "audit_size": self.audit.size(),
        }
