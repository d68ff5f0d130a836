"""Cameras and their drop folders."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from vault.audit import events
from vault.catalog.models import Camera, CameraFolder, Clip
from vault.errors import NotFound, UsageError
from vault.fsutil import ensure_private_dir
from vault.ingest.folders import check_drop_folder
from vault.ingest.pipeline import CameraRef, DropFolder
from vault.service.context import VaultContext
from vault.service.keyring import Keyring
from vault.service.results import CameraInfo

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class FtpLogin:
    """A camera's FTP login and its password, shown once and never stored."""

    user: str
    password: str = field(repr=False)


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise UsageError(f"camera name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)")


def _check_pattern(pattern: str | None) -> None:
    if pattern is None:
        return
    if "%" not in pattern:
        raise UsageError(f"--pattern {pattern!r} has no strftime field (e.g. %Y%m%d-%H%M%S)")
    # A pattern must read back the names it describes: a sample time written
    # with it is parsed again (this catches unknown directives such as %Q).
    sample = datetime(2026, 11, 28, 13, 14, 15, tzinfo=UTC)
    try:
        datetime.strptime(sample.strftime(pattern), pattern)
    except ValueError as exc:
        raise UsageError(f"--pattern {pattern!r} cannot read file names: {exc}") from None


MAX_RETENTION_DAYS = 36_500  # a hundred years; 0 keeps clips forever


def _check_retention(days: int | None) -> None:
    if days is not None and not 0 <= days <= MAX_RETENTION_DAYS:
        raise UsageError(
            f"--retention-days must be 0 (keep forever) to {MAX_RETENTION_DAYS:,} (a hundred years)"
        )


class CameraService:
    """Cameras and their drop folders: add, change, move, list."""

    def __init__(self, ctx: VaultContext, keyring: Keyring) -> None:
        self.ctx = ctx
        self.keyring = keyring

    def _folder_path(self, folder: Path) -> Path:
        path = folder.expanduser().absolute()
        resolved = path.resolve()
        vault_root = self.ctx.root.resolve()
        if (
            resolved == vault_root
            or vault_root in resolved.parents
            or resolved in vault_root.parents
        ):
            raise UsageError(f"{folder} overlaps the vault folder {self.ctx.root}")
        if resolved.exists() and not resolved.is_dir():
            raise UsageError(f"{folder} is not a folder")
        return resolved

    def add_ftp(
        self, name: str, *, pattern: str | None = None, retention_days: int | None = None
    ) -> tuple[CameraInfo, FtpLogin]:
        """Give camera *name* an FTP login (adding the camera if it is new, with no
        drop folder); the password is returned to be shown once."""
        _check_name(name)
        _check_pattern(pattern)
        _check_retention(retention_days)
        with Session(self.ctx.engine) as s:
            self._camera_without_folder(s, name, pattern, retention_days, {"ftp": name})
            login = self._new_ftp_password(s, name, replace=False)
            s.commit()
        self.keyring.checkpoint()
        return self.get(name), login

    def _camera_without_folder(
        self,
        s: Session,
        name: str,
        pattern: str | None,
        retention_days: int | None,
        source: dict[str, str],
    ) -> None:
        """Inside *s*: add camera *name* with no drop folder if it is new (logged
        with *source*, its FTP login or stream); an existing camera is kept, and
        a pattern or retention for it is refused (that is `camera set`)."""
        cam = s.exec(select(Camera).where(Camera.name == name)).first()
        if cam is not None:
            if pattern is not None or retention_days is not None:
                raise UsageError(
                    f"camera {name} exists: change its pattern or retention with "
                    "`ringfence camera set`"
                )
            return
        cam = Camera(
            name=name,
            pattern=pattern,
            retention_days=retention_days or 0,
            created_at=self.ctx.clock(),
        )
        s.add(cam)
        s.flush()
        self.ctx.audit.append(
            events.CAMERA_ADDED,
            actor=self.ctx.actor,
            subject=name,
            details={
                "identity": None,
                "pattern": cam.pattern,
                "retention_days": cam.retention_days,
                **source,
            },
            conn=s.connection(),
        )

    def add_stream(
        self,
        name: str,
        url: str,
        *,
        segment_seconds: int | None = None,
        audio: bool = True,
        pattern: str | None = None,
        retention_days: int | None = None,
    ) -> CameraInfo:
        """Record camera *name*'s stream (adding the camera if it is new, with no
        drop folder); the daemon records it. Replaces the camera's stream if it
        had one. The URL goes to streams.toml only; the log gets it redacted."""
        from vault.ingest.streams import (
            DEFAULT_SEGMENT_SECONDS,
            StreamSource,
            check_segment_seconds,
            check_url,
            load_streams,
            redact,
            save_streams,
        )

        _check_name(name)
        _check_pattern(pattern)
        _check_retention(retention_days)
        check_url(url)
        seconds = check_segment_seconds(
            DEFAULT_SEGMENT_SECONDS if segment_seconds is None else segment_seconds
        )
        source = StreamSource(name, url, seconds, audio)
        with Session(self.ctx.engine) as s:
            self._camera_without_folder(s, name, pattern, retention_days, {"stream": redact(url)})
            # The audit entry first: its write lock keeps two commands from
            # racing on streams.toml, which is written inside the transaction.
            streams = load_streams(self.ctx.layout.streams)
            self.ctx.audit.append(
                events.CAMERA_STREAM,
                actor=self.ctx.actor,
                subject=name,
                details={
                    "url": redact(url),
                    "segment_seconds": seconds,
                    "audio": audio,
                    "replaced": name in streams,
                },
                conn=s.connection(),
            )
            streams[name] = source
            save_streams(self.ctx.layout.streams, streams)
            s.commit()
        self.keyring.checkpoint()
        return self.get(name)

    def ftp_password(self, name: str) -> FtpLogin:
        """Replace camera *name*'s FTP password; the old one stops working at once."""
        with Session(self.ctx.engine) as s:
            self._camera_row(s, name)
            login = self._new_ftp_password(s, name, replace=True)
            s.commit()
        self.keyring.checkpoint()
        return login

    def _new_ftp_password(self, s: Session, name: str, *, replace: bool) -> FtpLogin:
        """Write the new verifier inside the session's transaction: its write lock
        (taken by the audit entry, first) keeps two commands from racing on the file."""
        from vault.ingest.ftp_accounts import AccountBook

        path = self.ctx.layout.ftp_accounts
        book = AccountBook.load(path)
        had = book.get(name) is not None
        if had and not replace:
            raise UsageError(
                f"camera {name} already has an FTP login; "
                f"replace its password with `ringfence camera ftp-password {name}`"
            )
        if replace and not had:
            raise NotFound(
                f"camera {name} has no FTP login (add one with `ringfence camera add {name} --ftp`)"
            )
        self.ctx.audit.append(
            events.CAMERA_FTP_LOGIN,
            actor=self.ctx.actor,
            subject=name,
            details={"login": name, "replaced": replace},
            conn=s.connection(),
        )
        account, password = book.add(name)
        book.save(path)
        return FtpLogin(account.login, password)

    def _streams(self) -> dict[str, str]:
        """Each camera's stream URL as shown (redacted); none without streams.toml."""
        if not self.ctx.layout.streams.exists():
            return {}
        from vault.ingest.streams import load_streams

        return {name: s.shown_url for name, s in load_streams(self.ctx.layout.streams).items()}

    def ftp_logins(self) -> set[str]:
        from vault.ingest.ftp_accounts import AccountBook

        return set(AccountBook.load(self.ctx.layout.ftp_accounts).logins())

    def add(
        self,
        name: str,
        folder: Path,
        *,
        pattern: str | None = None,
        retention_days: int | None = None,
    ) -> CameraInfo:
        """Add a camera, or another drop folder to an existing camera."""
        _check_name(name)
        _check_pattern(pattern)
        _check_retention(retention_days)
        path = self._folder_path(folder)
        # The folder is made (if missing) and its identity taken before it is
        # recorded: the daemon later seals only from this very folder.
        if not path.exists():
            ensure_private_dir(path)
        identity = check_drop_folder(path, None)
        with Session(self.ctx.engine) as s:
            for other in s.exec(select(CameraFolder)).all():
                p = Path(other.path)
                if p == path and self._is_camera_of(s, other, name):
                    # The same camera and folder again: record what is there now
                    # (a folder made anew, a share mounted in its place).
                    return self._record_folder(s, name, other, identity)
                if p == path or p in path.parents or path in p.parents:
                    raise UsageError(f"{folder} overlaps the drop folder {other.path}")
            cam = s.exec(select(Camera).where(Camera.name == name)).first()
            created = cam is None
            if cam is None:
                cam = Camera(
                    name=name,
                    pattern=pattern,
                    retention_days=retention_days or 0,
                    created_at=self.ctx.clock(),
                )
                s.add(cam)
                s.flush()
            else:
                if pattern is not None:
                    cam.pattern = pattern
                if retention_days is not None:
                    cam.retention_days = retention_days
            assert cam.id is not None
            s.add(CameraFolder(camera_id=cam.id, path=str(path), identity=identity))
            self.ctx.audit.append(
                events.CAMERA_ADDED if created else events.CAMERA_CHANGED,
                actor=self.ctx.actor,
                subject=name,
                details={
                    "folder": str(path),
                    "identity": identity,
                    "pattern": cam.pattern,
                    "retention_days": cam.retention_days,
                },
                conn=s.connection(),
            )
            s.commit()
        self.keyring.checkpoint()
        return self.get(name)

    @staticmethod
    def _is_camera_of(s: Session, folder: CameraFolder, name: str) -> bool:
        cam = s.get(Camera, folder.camera_id)
        return cam is not None and cam.name == name

    def _record_folder(
        self, s: Session, name: str, folder: CameraFolder, identity: str
    ) -> CameraInfo:
        if folder.identity != identity:
            was = folder.identity
            folder.identity = identity
            s.add(folder)
            self.ctx.audit.append(
                events.CAMERA_FOLDER_RECORDED,
                actor=self.ctx.actor,
                subject=name,
                details={"folder": folder.path, "identity": identity, "was": was},
                conn=s.connection(),
            )
            s.commit()
            self.keyring.checkpoint()
        return self.get(name)

    def change(
        self,
        name: str,
        *,
        pattern: str | None = None,
        retention_days: int | None = None,
        export_audio: bool | None = None,
    ) -> CameraInfo:
        _check_pattern(pattern)
        _check_retention(retention_days)
        with Session(self.ctx.engine) as s:
            cam = self._camera_row(s, name)
            changes: dict[str, object] = {}
            if pattern is not None:
                cam.pattern = pattern or None
                changes["pattern"] = cam.pattern
            if retention_days is not None:
                cam.retention_days = retention_days
                changes["retention_days"] = retention_days
            if export_audio is not None:
                cam.export_audio = export_audio
                changes["export_audio"] = export_audio
            if not changes:
                raise UsageError(
                    "nothing to change: give --pattern, --retention-days or --export-audio"
                )
            s.add(cam)
            self.ctx.audit.append(
                events.CAMERA_CHANGED,
                actor=self.ctx.actor,
                subject=name,
                details=changes,
                conn=s.connection(),
            )
            s.commit()
        self.keyring.checkpoint()
        return self.get(name)

    def move(self, name: str, folder: Path) -> tuple[list[str], CameraInfo]:
        """Make *folder* the camera's only drop folder; returns (the old folders, the camera).

        What `make run DROP=DIR` does to the `default` camera. Logged as
        ``camera.changed`` with the old and the new folders. Files still in an
        old folder are no longer sealed from there.
        """
        path = self._folder_path(folder)
        with Session(self.ctx.engine) as s:
            cam = self._camera_row(s, name)
            mine = s.exec(select(CameraFolder).where(CameraFolder.camera_id == cam.id)).all()
            old = [f.path for f in mine]
            if old == [str(path)]:
                return old, self.get(name)
            for other in s.exec(select(CameraFolder).where(CameraFolder.camera_id != cam.id)):
                p = Path(other.path)
                if p == path or p in path.parents or path in p.parents:
                    raise UsageError(f"{folder} overlaps the drop folder {other.path}")
            for f in mine:
                s.delete(f)
            s.flush()
            assert cam.id is not None
            s.add(CameraFolder(camera_id=cam.id, path=str(path)))
            self.ctx.audit.append(
                events.CAMERA_CHANGED,
                actor=self.ctx.actor,
                subject=name,
                details={"folders": [str(path)], "previous_folders": old},
                conn=s.connection(),
            )
            s.commit()
        ensure_private_dir(path) if not path.exists() else None
        self.keyring.checkpoint()
        return old, self.get(name)

    def _camera_row(self, s: Session, name: str) -> Camera:
        cam = s.exec(select(Camera).where(Camera.name == name)).first()
        if cam is None:
            raise NotFound(f"no camera named {name!r}")
        return cam

    def get(self, name: str) -> CameraInfo:
        for info in self.all():
            if info.name == name:
                return info
        raise NotFound(f"no camera named {name!r}")

    def drop_folders(self) -> list[DropFolder]:
        """Every camera's drop folders, in the order they were added, each with its camera
        and the identity recorded at ``camera add``: what the daemon watches."""
        with Session(self.ctx.reader) as s:
            rows = s.exec(select(CameraFolder, Camera).join(Camera).order_by(CameraFolder.id)).all()
        return [
            DropFolder(Path(f.path), CameraRef(c.id, c.name, c.pattern), f.identity)
            for f, c in rows
        ]

    def all(self) -> list[CameraInfo]:
        logins = self.ftp_logins() if self.ctx.layout.ftp_accounts.exists() else set()
        streams = self._streams()
        with Session(self.ctx.reader) as s:
            cams = s.exec(select(Camera).order_by(Camera.name)).all()
            folders: dict[int, list[str]] = {}
            for f in s.exec(select(CameraFolder).order_by(CameraFolder.id)).all():
                folders.setdefault(f.camera_id, []).append(f.path)
            counts = dict(
                s.exec(
                    select(Clip.camera_id, func.count())
                    .where(Clip.shredded_at.is_(None))  # type: ignore[union-attr]
                    .group_by(Clip.camera_id)
                ).all()
            )
            return [
                CameraInfo(
                    name=c.name,
                    folders=folders.get(c.id or 0, []),
                    pattern=c.pattern,
                    retention_days=c.retention_days,
                    clips=int(counts.get(c.id, 0)),
                    ftp=c.name if c.name in logins else None,
                    stream=streams.get(c.name),
                    export_audio=c.export_audio,
                )
                for c in cams
            ]
