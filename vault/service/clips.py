"""Clips: listing, details, the sealed age file, and payload checks."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import select
from sqlmodel import Session

from vault.audit import events
from vault.catalog.models import Camera, Clip
from vault.errors import IntegrityError, NotFound, PolicyError, UsageError
from vault.fsutil import atomic_writer, storage_error
from vault.jsonout import json_name
from vault.service.census import StoreCensus, logged_clips, store_census
from vault.service.context import VaultContext
from vault.service.keyring import Keyring
from vault.service.places import check_out_folder
from vault.service.results import ClipInfo
from vault.timeutil import as_utc, iso

READ_CHUNK = 1 << 20


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
    Clip.truncated,
)


def clip_query() -> Any:
    return select(*CLIP_COLUMNS).join(Camera, Camera.id == Clip.camera_id)


def row_to_info(row: Any) -> ClipInfo:
    return ClipInfo(*row)


@dataclass(frozen=True)
class VerifyProblem:
    """A clip that fails ``clips verify``. JSON: ``{"id": …, "problem": …}``."""

    clip_id: str = field(metadata=json_name("id"))
    problem: str


@dataclass(frozen=True)
class VerifyNote(VerifyProblem):
    """A fact ``clips verify`` reports that is no damage. JSON: ``{"id": …, "note": …}``."""

    problem: str = field(metadata=json_name("note"))


@dataclass(frozen=True)
class ClipCheck:
    """What ``clips verify`` found: *problems* fail the check (exit 6); *notes*
    are facts worth knowing that are not damage (an old clip whose header was
    sealed before its hash was logged, a sealing in progress)."""

    checked: int
    problems: list[VerifyProblem]
    notes: list[VerifyNote]

    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = ("ok",)

    @property
    def ok(self) -> bool:
        return not self.problems


#: The clip row's facts a ``clip.sealed`` entry records, as (log key, how to
#: render the catalog value). Keys missing from an older entry are not compared.
_LOGGED_FACTS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("camera", str),
    ("captured_at", iso),
    ("captured_from_mtime", bool),
    ("size", int),
    ("sha256", str),
    ("payload_size", int),
    ("payload_sha256", str),
    ("name", str),
)


def _differences(logged: dict[str, Any], row: Any) -> list[str]:
    facts = {
        "camera": row.camera,
        "captured_at": row.captured_at,
        "captured_from_mtime": row.captured_from_mtime,
        "size": row.size,
        "sha256": row.sha256,
        "payload_size": row.payload_size,
        "payload_sha256": row.payload_sha256,
        "name": row.original_name,
    }
    return [
        key for key, render in _LOGGED_FACTS if key in logged and render(facts[key]) != logged[key]
    ]


class ClipService:
    """Clips: listing, details, the sealed age file, and payload checks."""

    def __init__(self, ctx: VaultContext, keyring: Keyring) -> None:
        self.ctx = ctx
        self.keyring = keyring

    def all(
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
        with self.ctx.reader.connect() as conn:
            return [row_to_info(r) for r in conn.execute(q)]

    def _camera_id(self, name: str) -> int:
        with Session(self.ctx.reader) as s:
            cid = s.execute(select(Camera.id).where(Camera.name == name)).scalar()
        if cid is None:
            raise NotFound(f"no camera named {name!r}")
        return int(cid)

    def get(self, clip_id: str) -> ClipInfo:
        with self.ctx.reader.connect() as conn:
            row = conn.execute(clip_query().where(Clip.id == clip_id)).first()
        if row is None:
            raise NotFound(f"no clip {clip_id!r}")
        return row_to_info(row)

    def _header(self, clip_id: str) -> bytes:
        with self.ctx.reader.connect() as conn:
            row = conn.execute(select(Clip.header).where(Clip.id == clip_id)).first()
        if row is None:
            raise NotFound(f"no clip {clip_id!r}")
        if row[0] is None:
            raise PolicyError(f"clip {clip_id} was shredded: its key no longer exists")
        return bytes(row[0])

    def export_age(self, clip_id: str, out: Path) -> Path:
        """Write the clip as a standard age file (header + payload); nothing is decrypted.

        Refused, before anything is written or logged, inside the vault (a
        header copy there would survive shredding) or a drop folder (the daemon
        would seal the copy as a new clip that outlives shredding), and where
        *out* is a symlink.
        """
        header = self._header(clip_id)
        info = self.get(clip_id)
        if not os.path.islink(out) and out.is_dir():
            out = out / f"{clip_id}.age"
        check_out_folder(self.ctx, out)
        if os.path.lexists(out):
            raise UsageError(f"{out} exists; choose another name")
        try:
            with (
                self.ctx.store.open(clip_id) as src,
                atomic_writer(out, mode=0o600, share=False) as dst,
            ):
                dst.write(header)
                while chunk := src.read(READ_CHUNK):
                    dst.write(chunk)
        except OSError as exc:
            raise storage_error(exc, f"cannot write {out}") from exc
        self.ctx.audit.append(
            events.CLIP_EXPORTED_AGE,
            actor=self.ctx.actor,
            subject=clip_id,
            details={"camera": info.camera, "sha256": info.sha256, "path": os.fspath(out)},
        )
        self.keyring.checkpoint()
        return out

    def store_census(self) -> StoreCensus:
        """Which clip payloads in the store the catalog does not know
        (:func:`vault.service.census.store_census`)."""
        return store_census(self.ctx.store, self.ctx.layout.catalog)

    def verify(self) -> ClipCheck:
        """Check every clip against what the audit log recorded, and every
        stored payload against its hash. Needs no key.

        Each catalog row is compared with its ``clip.sealed`` entry (camera,
        capture time, sizes, hashes, the age header by its SHA-256) and with
        its shredded state (a ``clip.shredded`` entry, the row's shredded_at
        and header); a logged clip whose row is gone, and a payload the
        catalog does not know, are found too. The log and the catalog are read
        in one snapshot, so a clip sealed meanwhile is no false alarm.
        """
        census = self.store_census()
        problems: list[VerifyProblem] = []
        notes: list[VerifyNote] = []
        with self.ctx.reader.connect() as conn:
            rows = conn.execute(
                select(
                    Clip.id,
                    Camera.name.label("camera"),  # type: ignore[attr-defined]
                    Clip.captured_at,
                    Clip.captured_from_mtime,
                    Clip.size,
                    Clip.sha256,
                    Clip.payload_size,
                    Clip.payload_sha256,
                    Clip.original_name,
                    Clip.header,
                    Clip.shredded_at,
                )
                .outerjoin(Camera, Camera.id == Clip.camera_id)
                .order_by(Clip.id)
            ).all()
            sealed, shredded = logged_clips(conn.connection.driver_connection)
        catalog_ids = {r.id for r in rows}
        to_hash: list[tuple[str, str, int]] = []
        for row in rows:
            logged = sealed.get(row.id)
            if logged is None:
                problems.append(VerifyProblem(row.id, "no clip.sealed entry in the audit log"))
                if row.shredded_at is None:
                    to_hash.append((row.id, row.payload_sha256, row.payload_size))
                continue
            diff = _differences(logged, row)
            if diff:
                problems.append(
                    VerifyProblem(
                        row.id,
                        "the catalog row differs from its clip.sealed audit entry in: "
                        + ", ".join(diff),
                    )
                )
            if row.id in shredded:
                if row.shredded_at is None or row.header is not None:
                    problems.append(
                        VerifyProblem(
                            row.id,
                            "the audit log says it was shredded, but the catalog row "
                            "does not (shredded_at or header)",
                        )
                    )
                continue
            if row.shredded_at is not None or row.header is None:
                problems.append(
                    VerifyProblem(
                        row.id,
                        "the catalog marks it shredded (shredded_at or no header), but "
                        "the audit log has no clip.shredded entry",
                    )
                )
                continue
            want = logged.get("header_sha256")
            if want is None:
                notes.append(
                    VerifyNote(
                        row.id,
                        "sealed before header hashes were logged: its header was not checked",
                    )
                )
            elif hashlib.sha256(bytes(row.header)).hexdigest() != want:
                problems.append(
                    VerifyProblem(
                        row.id,
                        "its age header differs from the one logged at sealing "
                        "(the clip cannot be opened)",
                    )
                )
            to_hash.append((row.id, row.payload_sha256, row.payload_size))
        for clip_id in sorted(set(sealed) - catalog_ids):
            problems.append(
                VerifyProblem(
                    clip_id,
                    "the audit log recorded its sealing, but its catalog row is gone"
                    + (" (its payload is still in the store)" if clip_id in census.logged else ""),
                )
            )
        # Listed before the snapshot: one that committed since is no longer unknown.
        for clip_id in (c for c in census.stray if c not in catalog_ids):
            problems.append(
                VerifyProblem(
                    clip_id,
                    "a payload in the store that neither the catalog nor the audit log knows",
                )
            )
        for clip_id in (c for c in census.pending if c not in catalog_ids):
            notes.append(
                VerifyNote(
                    clip_id,
                    "a payload whose sealing did not commit (the daemon removes it at "
                    "its next start)",
                )
            )
        checked = 0
        for clip_id, want_sha, size in to_hash:
            checked += 1
            try:
                digest = hashlib.sha256()
                n = 0
                with self.ctx.store.open(clip_id) as f:
                    while chunk := f.read(READ_CHUNK):
                        digest.update(chunk)
                        n += len(chunk)
            except NotFound:
                if not self._shredded_now(clip_id):
                    problems.append(VerifyProblem(clip_id, "payload missing from the store"))
                continue
            if n != size or digest.hexdigest() != want_sha:
                problems.append(VerifyProblem(clip_id, "payload hash mismatch"))
        for p in problems:
            self.ctx.audit.append(
                events.CLIP_CHECK_FAILED,
                actor=self.ctx.actor,
                subject=p.clip_id,
                details={"problem": p.problem},
            )
        if problems:
            try:
                self.keyring.checkpoint()
            except IntegrityError as exc:
                # The findings stand whether or not the log can be signed now
                # (a catalog behind the owner's newest checkpoint is not).
                notes.append(
                    VerifyNote(
                        "audit log", f"the findings were logged but not signed: {exc.message}"
                    )
                )
        return ClipCheck(checked, problems, notes)

    def _shredded_now(self, clip_id: str) -> bool:
        """A clip shredded after the snapshot: its payload is gone on purpose."""
        with self.ctx.reader.connect() as conn:
            row = conn.execute(select(Clip.shredded_at).where(Clip.id == clip_id)).first()
        return row is not None and row[0] is not None
