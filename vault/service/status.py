"""What the vault is doing: daemon, clips per camera, drop folders, waiting and
held-back files, payloads the catalog does not know, storage."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select

from vault.catalog.models import Camera, Clip
from vault.ingest.folders import FolderStatus, folder_status
from vault.ingest.scan import candidates
from vault.lock import is_held, read_heartbeat
from vault.service.clips import ClipService
from vault.service.context import VaultContext
from vault.timeutil import iso


class StatusService:
    """What the vault is doing, read without any key."""

    def __init__(self, ctx: VaultContext, clips: ClipService) -> None:
        self.ctx = ctx
        self.clips = clips

    def daemon_running(self) -> bool:
        return is_held(self.ctx.layout.lock)

    def _drop_folders(self) -> list[tuple[str, Path, str | None]]:
        from sqlmodel import Session

        from vault.catalog.models import CameraFolder

        with Session(self.ctx.reader) as s:
            rows = s.exec(
                select(Camera.name, CameraFolder.path, CameraFolder.identity)
                .join(CameraFolder, CameraFolder.camera_id == Camera.id)
                .order_by(Camera.name, CameraFolder.path)
            ).all()
        return [(name, Path(path), identity) for name, path, identity in rows]

    def folders(self) -> list[FolderStatus]:
        """Every drop folder and whether the daemon can use it now (missing,
        a symlink, replaced since ``camera add``)."""
        return [folder_status(name, path, ident) for name, path, ident in self._drop_folders()]

    def files_waiting(self) -> int:
        return sum(
            1 for _name, f, ident in self._drop_folders() for _ in candidates(f, ident)
        )

    def held_back(self) -> list[dict[str, Any]]:
        """Files the daemon left in a drop folder on purpose (the bytes of a
        shredded clip), from its last run, running or not; a file that was
        removed or changed since is no longer listed."""
        out = []
        for item in read_heartbeat(self.ctx.layout.daemon_state).get("held_back", []):
            try:
                st = os.lstat(item["path"])
                same = (st.st_size, st.st_mtime_ns) == (int(item["size"]), int(item["mtime_ns"]))
            except (OSError, KeyError, TypeError, ValueError):
                continue
            if same:
                out.append({"path": str(item["path"]), "clip": item.get("clip"),
                            "reason": item.get("reason")})
        return out

    def stored_bytes(self) -> int:
        """Bytes of sealed payloads, from the catalog (no walk over the store)."""
        from vault.catalog.models import Attachment

        with self.ctx.reader.connect() as conn:
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
        return shutil.disk_usage(self.ctx.root).free

    def report(self) -> dict[str, Any]:
        beat = read_heartbeat(self.ctx.layout.daemon_state)
        running = self.daemon_running()
        with self.ctx.reader.connect() as conn:
            rows = conn.execute(
                select(
                    Camera.name,
                    func.count(Clip.id),
                    func.max(Clip.ingested_at),
                    func.coalesce(func.sum(case((Clip.captured_from_mtime, 1), else_=0)), 0),
                )
                .select_from(Camera)
                .outerjoin(Clip, (Clip.camera_id == Camera.id) & Clip.shredded_at.is_(None))  # type: ignore[union-attr]
                .group_by(Camera.id)
                .order_by(Camera.name)
            ).all()
        last = max((r[2] for r in rows if r[2] is not None), default=None)
        free = self.free_bytes()
        census = self.clips.store_census()
        return {
            "vault": str(self.ctx.root),
            "daemon": {
                "running": running,
                "pid": beat.get("pid") if running else None,
                "started_at": beat.get("started_at") if running else None,
                "last_beat": beat.get("beat_at"),
                "errors": beat.get("errors", []) if running else [],
            },
            "cameras": [
                {"name": r[0], "clips": int(r[1]), "last_ingest": iso(r[2]),
                 "time_from_mtime": int(r[3])}
                for r in rows
            ],
            "folders": [f.as_json() for f in self.folders()],
            "clips": sum(int(r[1]) for r in rows),
            "last_ingest": iso(last),
            "files_waiting": self.files_waiting(),
            "held_back": self.held_back(),
            "unknown_payloads": census.unknown,
            "store_bytes": self.stored_bytes(),
            "free_bytes": free,
            "low_disk": free < self.ctx.config.min_free_bytes,
            "audit_size": self.ctx.audit.size(),
        }
