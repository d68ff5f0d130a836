"""The ingest daemon: watches every camera's drop folders and seals each clip.

One process per vault (an flock on ``daemon.lock``). It needs no passphrase:
it holds only the owner's public recipients and its own device key, which
signs audit checkpoints. Readiness has two paths: a close-write (or
rename-into-place) event seals a file at once; anything else is re-examined
until size and mtime have been still for ``settle_seconds``. A periodic rescan
catches what events missed (network shares) and what arrived while the daemon
was down.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from vault.catalog.models import Camera, CameraFolder, Clip
from vault.errors import RingfenceError, StorageError
from vault.ingest.pipeline import (
    CameraRef,
    FileChanged,
    NotRegularFile,
    ShreddedAgain,
    seal_file,
)
from vault.ingest.policy import Observation, display_name, is_settled
from vault.ingest.scan import candidates, owner_folder
from vault.lock import InstanceLock, write_heartbeat
from vault.service import Vault
from vault.timeutil import iso

log = logging.getLogger("ringfence.daemon")

#: Clip blobs without a catalog row that recovery may delete. One daemon seals
#: one clip at a time and recovers at every start, so a crash leaves at most one.
MAX_ORPHANS = 2


@dataclass
class DaemonOptions:
    settle_seconds: float = 5.0
    rescan_seconds: float = 30.0
    retry_seconds: float = 10.0
    heartbeat_seconds: float = 30.0
    retention_seconds: float = 3600.0
    once: bool = False


@dataclass
class _Pending:
    first: Observation
    last: Observation
    not_before: float = 0.0  # monotonic time before which no retry happens


@dataclass
class DaemonStats:
    sealed: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)
    last_ingest_at: str | None = None


class Daemon:
    def __init__(self, vault: Vault, options: DaemonOptions | None = None) -> None:
        self.vault = vault
        self.opts = options or DaemonOptions()
        self.events: queue.Queue[tuple[str, str]] = queue.Queue()
        self.stop_requested = threading.Event()
        self.stats = DaemonStats()
        self._pending: dict[Path, _Pending] = {}
        self._folders: dict[Path, CameraRef] = {}
        self._started_at = iso(vault.clock())
        self._dirty = False  # audit entries not yet covered by a checkpoint
        # Files left alone on purpose (the bytes of a shredded clip), by
        # (path, size, mtime): reported once, not retried while unchanged.
        self._left_alone: set[tuple[Path, int, int]] = set()

    # --- cameras ------------------------------------------------------------

    def _load_cameras(self) -> list[Path]:
        """Reload camera folders; returns folders that are new since last time."""
        with Session(self.vault.engine) as s:
            rows = s.exec(select(CameraFolder, Camera).join(Camera)).all()  # type: ignore[call-overload]
        folders = {
            Path(f.path): CameraRef(c.id, c.name, c.pattern)
            for f, c in rows  # type: ignore[misc]
        }
        new = [p for p in folders if p not in self._folders]
        self._folders = folders
        return new

    def _camera_for(self, path: Path) -> tuple[Path, CameraRef] | None:
        folder = owner_folder(path, list(self._folders))
        if folder is None:
            return None
        return folder, self._folders[folder]

    # --- recovery -------------------------------------------------------------

    def recover(self) -> None:
        """Undo what a killed daemon left half done: temp files and orphan blobs.

        A crash between storing a payload and committing its catalog row leaves
        one clip blob the catalog does not know (its plaintext is still in the
        drop folder and will be sealed again). More than a few such blobs means
        something else: a catalog restored from an old backup, or the wrong
        one. Then nothing is deleted and the log says so.
        """
        removed = self.vault.store.clean_tmp()
        self._sweep_exports()
        with self.vault.reader.connect() as conn:
            known = {r[0] for r in conn.execute(select(Clip.id))}
        # Only clip blobs: the daemon is their only writer, so a clip blob
        # without a catalog row can only be a sealing that never committed.
        orphans = [b for b in self.vault.store.ids() if b.startswith("clp_") and b not in known]
        if len(orphans) > MAX_ORPHANS:
            log.error(
                "the catalog does not know %d stored clip payloads (a crash leaves at most "
                "one): is this the vault's own catalog? Nothing was deleted; run "
                "`ringfence clips verify`.",
                len(orphans),
            )
            orphans = []
        for blob_id in orphans:
            self.vault.store.delete(blob_id)
        if removed or orphans:
            log.info(
                "recovered: %d temp file(s), %d uncommitted blob(s) removed", removed, len(orphans)
            )

    # --- sealing ----------------------------------------------------------------

    def _seal(self, path: Path) -> None:
        found = self._camera_for(path)
        if found is None:
            return
        _folder, camera = found
        try:
            st = os.lstat(path)
        except OSError:
            self._pending.pop(path, None)
            return
        version = (path, st.st_size, st.st_mtime_ns)
        if version in self._left_alone:
            self._pending.pop(path, None)
            return
        try:
            sealed = seal_file(
                path,
                camera,
                engine=self.vault.engine,
                store=self.vault.store,
                audit=self.vault.audit,
                recipients=self.vault.config.recipients,
                now=self.vault.clock(),
            )
        except FileNotFoundError:
            self._pending.pop(path, None)
            return
        except NotRegularFile as exc:
            log.warning("skipped: %s", exc)
            self._pending.pop(path, None)
            return
        except FileChanged:
            self._observe(path)
            return
        except ShreddedAgain as exc:
            self._pending.pop(path, None)
            self._left_alone.add(version)
            self._remember_error(exc.message)
            log.warning("%s", exc.message)
            return
        except (StorageError, OSError, SQLAlchemyError, RingfenceError, ValueError) as exc:
            msg = _describe(exc)
            self._remember_error(f"{display_name(path.name)}: {msg}")
            log.error(
                "cannot seal %s (%s); the plaintext stays, retrying in %.0fs",
                display_name(str(path)),
                msg,
                self.opts.retry_seconds,
            )
            self._retry_later(path)
            return
        self._pending.pop(path, None)
        self._dirty = True
        self.stats.last_ingest_at = iso(self.vault.clock())
        if sealed.duplicate:
            self.stats.duplicates += 1
            log.info("already sealed as %s: removed %s", sealed.clip_id, display_name(str(path)))
        else:
            self.stats.sealed += 1
            log.info(
                "sealed %s -> %s (%d bytes)", display_name(str(path)), sealed.clip_id, sealed.size
            )

    def _remember_error(self, msg: str) -> None:
        self.stats.errors = (self.stats.errors + [msg])[-10:]

    def _observe(self, path: Path) -> None:
        try:
            st = os.lstat(path)
        except OSError:
            self._pending.pop(path, None)
            return
        obs = Observation(st.st_size, st.st_mtime_ns, time.monotonic())
        entry = self._pending.get(path)
        if entry is None or (entry.last.size, entry.last.mtime_ns) != (obs.size, obs.mtime_ns):
            self._pending[path] = _Pending(obs, obs)
        else:
            entry.last = obs

    def _retry_later(self, path: Path) -> None:
        self._observe(path)
        if path in self._pending:
            self._pending[path].not_before = time.monotonic() + self.opts.retry_seconds

    def _ready_pending(self) -> list[Path]:
        now_m, now_w = time.monotonic(), time.time()
        ready = []
        for path, entry in list(self._pending.items()):
            if entry.not_before > now_m:
                continue
            self._observe(path)
            entry = self._pending.get(path)  # type: ignore[assignment]
            if entry and is_settled(entry.first, entry.last, self.opts.settle_seconds, now_w):
                ready.append(path)
        return ready

    def rescan(self) -> None:
        """Look at every file in every drop folder; quiet old files are ready now."""
        now_w = time.time()
        for folder in list(self._folders):
            for path, st in candidates(folder):
                if self.stop_requested.is_set():
                    return
                if path in self._pending:
                    continue
                if now_w - st.st_mtime_ns / 1e9 >= self.opts.settle_seconds:
                    self._seal(path)
                else:
                    self._observe(path)

    def _drain_events(self, timeout: float) -> None:
        try:
            kind, raw = self.events.get(timeout=timeout)
        except queue.Empty:
            return
        batch = [(kind, raw)]
        while True:
            try:
                batch.append(self.events.get_nowait())
            except queue.Empty:
                break
        closed: list[Path] = []
        for kind, raw in batch:
            path = Path(raw)
            if self._camera_for(path) is None:
                continue
            if kind == "closed":
                closed.append(path)
            else:
                self._observe(path)
        for path in dict.fromkeys(closed):
            if self.stop_requested.is_set():
                return
            entry = self._pending.get(path)
            if entry is not None and entry.not_before > time.monotonic():
                continue
            self._seal(path)

    # --- bookkeeping --------------------------------------------------------------

    def _sign_if_dirty(self) -> None:
        if not self._dirty:
            return
        try:
            self.vault.checkpoint()
        except (RingfenceError, SQLAlchemyError) as exc:
            # Sealing goes on (a clip must never be lost), but loudly: the log
            # refuses to sign a history that no longer matches its checkpoints.
            msg = _describe(exc)
            self._remember_error(f"audit checkpoint: {msg}")
            log.error("cannot sign an audit checkpoint: %s", msg)
        self._dirty = False

    def heartbeat(self) -> None:
        state: dict[str, Any] = {
            "pid": os.getpid(),
            "started_at": self._started_at,
            "beat_at": iso(self.vault.clock()),
            "sealed": self.stats.sealed,
            "duplicates": self.stats.duplicates,
            "waiting": len(self._pending),
            "last_ingest_at": self.stats.last_ingest_at,
            "errors": self.stats.errors,
        }
        try:
            write_heartbeat(self.vault.layout.daemon_state, state)
        except RingfenceError as exc:
            log.warning("cannot write the heartbeat: %s", exc.message)

    def _sweep_exports(self) -> None:
        try:
            swept = self.vault.sweep_abandoned_exports()
        except (RingfenceError, SQLAlchemyError, OSError) as exc:
            log.error("cannot sweep what killed exports left: %s", _describe(exc))
            return
        if swept:
            log.warning("removed what %d killed export(s) left: %s", len(swept), ", ".join(swept))

    def _periodic(self) -> None:
        """Retention: shred unheld clips past their camera's retention; warn on low disk.

        Free space below the threshold is logged as a WARNING every run; clips
        go early only when the owner set ``shred_on_pressure`` (and never held ones).
        """
        try:
            report = self.vault.retention_run()
        except (RingfenceError, SQLAlchemyError, OSError) as exc:
            msg = _describe(exc)
            self._remember_error(f"retention: {msg}")
            log.error("retention run failed: %s", msg)
            return
        except Exception as exc:  # a fault in retention must not stop ingest
            self._remember_error(f"retention: {type(exc).__name__}")
            log.exception("retention run failed unexpectedly; sealing goes on")
            return
        if report.shredded:
            log.info(
                "retention: shredded %d clip(s), deletion record %s",
                len(report.shredded),
                report.record,
            )
        if report.held:
            log.info("retention: %d clip(s) past retention are held", len(report.held))
        if report.disk is not None and report.disk.low:
            self._remember_error(report.disk.message())
            log.warning("%s", report.disk.message())

    def _install_signals(self) -> None:
        def handler(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %d: finishing the current clip, then stopping", signum)
            self.stop_requested.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def run(self) -> int:
        lock = InstanceLock(self.vault.layout.lock)
        lock.acquire()
        try:
            return self._run_locked()
        finally:
            lock.release()

    def _run_locked(self) -> int:
        self.recover()
        self._load_cameras()
        self.vault.audit.append(
            "daemon.started",
            actor="daemon",
            details={
                "pid": os.getpid(),
                "once": self.opts.once,
                "folders": [str(p) for p in self._folders],
            },
        )
        self._dirty = True
        if self.opts.once:
            self.rescan()
            self._stop()
            return 0
        self._install_signals()
        from vault.ingest.watcher import FolderWatcher

        watcher = FolderWatcher(self._folders, self.events)
        watcher.start()
        # Announce the daemon only once it is watching: a clip closed after
        # daemon.json appears always gets its close event.
        self.heartbeat()
        log.info(
            "watching %d folder(s): %s",
            len(self._folders),
            ", ".join(display_name(str(p)) for p in self._folders) or "none yet",
        )
        self.rescan()
        self._sign_if_dirty()
        last_rescan = last_beat = time.monotonic()
        last_periodic = float("-inf")  # retention runs once right at start
        try:
            while not self.stop_requested.is_set():
                self._drain_events(timeout=0.2 if self._pending else 1.0)
                for path in self._ready_pending():
                    if self.stop_requested.is_set():
                        break
                    self._seal(path)
                if self.events.empty():
                    self._sign_if_dirty()
                now = time.monotonic()
                if now - last_rescan >= self.opts.rescan_seconds:
                    new = self._load_cameras()
                    if new:
                        watcher.stop()
                        watcher = FolderWatcher(self._folders, self.events)
                        watcher.start()
                        log.info("now also watching %s", ", ".join(map(str, new)))
                    self.rescan()
                    # An export killed while this daemon runs leaves plaintext
                    # in its staging folder: do not wait for the next start.
                    self._sweep_exports()
                    last_rescan = now
                if now - last_beat >= self.opts.heartbeat_seconds:
                    self.heartbeat()
                    last_beat = now
                if now - last_periodic >= self.opts.retention_seconds:
                    self._periodic()
                    last_periodic = now
        finally:
            watcher.stop()
            self._stop()
        return 0

    def _stop(self) -> None:
        self.vault.audit.append(
            "daemon.stopped",
            actor="daemon",
            details={"sealed": self.stats.sealed, "duplicates": self.stats.duplicates},
        )
        self._dirty = True
        self._sign_if_dirty()
        self.heartbeat()
        log.info("stopped: %d sealed, %d duplicate(s)", self.stats.sealed, self.stats.duplicates)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RingfenceError):
        return exc.message
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    if isinstance(exc, ValueError):
        return f"{type(exc).__name__}: {exc}"
    text = str(getattr(exc, "orig", exc))
    return "the disk is full" if "full" in text else f"catalog error: {text}"
