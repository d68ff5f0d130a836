"""The ingest daemon: watches every camera's drop folders and seals each clip.

One process per vault (an flock on ``daemon.lock``). It needs no passphrase:
it holds only the owner's public recipients and its own device key, which
signs audit checkpoints. Readiness has two paths: a close-write (or
rename-into-place) event seals a file at once; anything else is re-examined
until size and mtime have been still for ``settle_seconds``. A periodic rescan
catches what events missed (network shares) and what arrived while the daemon
was down.

A drop folder that is missing, a symlink, or not the folder recorded at
``camera add`` is skipped (said once) while the others are watched; it is
picked up at the first rescan after it is right again. SIGTERM and SIGINT
stop the daemon after its current step, at any moment of start-up too.
"""

from __future__ import annotations

import contextlib
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

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from vault.audit import events
from vault.catalog.db import catalog_write_error
from vault.catalog.models import CameraFolder, Clip
from vault.errors import RingfenceError, StorageError
from vault.ingest.folders import MISSING, REPLACED, FolderProblem, check_drop_folder
from vault.ingest.pipeline import (
    DropFolder,
    FileChanged,
    NotRegularFile,
    ShreddedAgain,
    seal_file,
)
from vault.ingest.policy import Observation, display_name, is_settled
from vault.ingest.receivers import Receiver, ReceiverSetup, configured
from vault.ingest.recording import CatalogSink
from vault.ingest.recovery import recover_store
from vault.ingest.scan import candidates, owner_folder
from vault.lock import InstanceLock, read_heartbeat, write_heartbeat
from vault.service import Vault
from vault.timeutil import iso

log = logging.getLogger("ringfence.daemon")


#: The event the stop signals set (the latest install_stop_signals), and the
#: pipe and thread that set it: see install_stop_signals.
_stop_target: threading.Event | None = None
_stop_pipe: int | None = None


def _relay_stops(read_fd: int) -> None:
    while True:
        try:
            data = os.read(read_fd, 64)
        except InterruptedError:
            continue
        if not data:
            return
        target = _stop_target
        if target is not None:
            target.set()


def install_stop_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT set *stop*; whatever runs finishes its current step.

    Installed before anything else runs (opening the catalog, recovery,
    loading cameras), so a stop at any moment of start-up exits 0.

    The handler only writes a byte to a pipe; a thread of its own sets the
    event. Setting an Event takes a lock, and a handler runs between two
    bytecodes of the main thread: a second signal arriving while the first
    handler (or the main thread) holds that lock would wait for it forever.
    """
    global _stop_target, _stop_pipe
    _stop_target = stop
    if _stop_pipe is None:
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        threading.Thread(
            target=_relay_stops, args=(read_fd,), name="ringfence-stop-signals", daemon=True
        ).start()
        _stop_pipe = write_fd
    write_fd = _stop_pipe

    def handler(signum: int, _frame: FrameType | None) -> None:
        with contextlib.suppress(OSError):  # the pipe is full: a stop is pending anyway
            os.write(write_fd, b"\0")

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


@dataclass
class DaemonOptions:
    settle_seconds: float = 5.0
    rescan_seconds: float = 30.0
    retry_seconds: float = 10.0
    heartbeat_seconds: float = 30.0
    retention_seconds: float = 3600.0
    once: bool = False
    #: One-run settings of the receivers (vault.ingest.receivers), e.g.
    #: {"ftp_listen": "0.0.0.0:2121"} from ``daemon --ftp-listen``.
    receiver_overrides: dict[str, Any] = field(default_factory=dict)


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
    def __init__(
        self,
        vault: Vault,
        options: DaemonOptions | None = None,
        *,
        stop: threading.Event | None = None,
    ) -> None:
        self.vault = vault
        self.opts = options or DaemonOptions()
        self.events: queue.Queue[tuple[str, str]] = queue.Queue()
        self._own_signals = stop is None
        self.stop_requested = stop or threading.Event()
        self.stats = DaemonStats()
        self._pending: dict[Path, _Pending] = {}
        self._folders: dict[Path, DropFolder] = {}  # every configured drop folder
        self._usable: set[Path] = set()  # those checked and right now
        self._problems: dict[Path, FolderProblem] = {}  # those skipped, said once each
        self._started_at = iso(vault.clock())
        self._dirty = False  # audit entries not yet covered by a checkpoint
        # Files left alone on purpose (the bytes of a shredded clip), by
        # (path, size, mtime): reported once, not retried while unchanged, and
        # kept in daemon.json so `status` lists them when no daemon runs.
        self._left_alone: dict[tuple[Path, int, int], str] = {}
        self._fallback_said: set[int] = set()  # cameras whose mtime fallback was logged
        self._stopped_early = False
        self._receivers: list[Receiver] = []
        self._sink: CatalogSink | None = None
        self._receivers_written: dict[str, Any] = {}

    # --- cameras and their folders -----------------------------------------

    def _load_cameras(self) -> None:
        """Reload the cameras' drop folders from the cameras service, then check them."""
        self._folders = {folder.path: folder for folder in self.vault.cameras.drop_folders()}
        self._check_folders()

    def _check_folders(self) -> None:
        """Which drop folders may be used now; each change is logged once.

        A folder added before identities were recorded gets its identity now.
        One that this daemon saw missing and that is back as a real folder
        (a share mounted late, a folder made again) is taken with its new
        identity; replaced without going missing first, it stays skipped.
        """
        usable: set[Path] = set()
        for path, folder in self._folders.items():
            try:
                try:
                    identity = check_drop_folder(path, folder.identity)
                except FolderProblem as exc:
                    seen = self._problems.get(path)
                    if exc.kind != REPLACED or seen is None or seen.kind != MISSING:
                        raise
                    identity = check_drop_folder(path, None)
                    log.info("drop folder %s is back", display_name(str(path)))
                if identity != folder.identity:
                    self._record_identity(folder, identity)
            except FolderProblem as exc:
                seen = self._problems.get(path)
                if seen is None or seen.kind != exc.kind:
                    self._remember_error(exc.message)
                    log.warning("%s; skipped, the other folders are watched", exc.message)
                self._problems[path] = exc
                continue
            if path in self._problems:
                del self._problems[path]
                log.info("drop folder %s is watched again", display_name(str(path)))
            usable.add(path)
        self._usable = usable

    def _record_identity(self, folder: DropFolder, identity: str) -> None:
        with self.vault.engine.begin() as conn:
            conn.execute(
                update(CameraFolder)
                .where(CameraFolder.path == str(folder.path))
                .values(identity=identity)
            )
            self.vault.audit.append(
                events.CAMERA_FOLDER_RECORDED,
                actor="daemon",
                subject=folder.camera.name,
                details={"folder": str(folder.path), "identity": identity, "was": folder.identity},
                conn=conn,
            )
        self._dirty = True
        self._folders[folder.path] = DropFolder(folder.path, folder.camera, identity)

    def _camera_for(self, path: Path) -> DropFolder | None:
        folder = owner_folder(path, list(self._folders))
        if folder is None or folder not in self._usable:
            return None
        return self._folders[folder]

    # --- recovery -------------------------------------------------------------

    def recover(self) -> None:
        """Undo what a killed daemon left half done (see vault.ingest.recovery),
        after sweeping what killed exports left; refuses a catalog that is
        behind the vault."""
        removed = self.vault.store.clean_tmp()
        if not self._step("sweeping killed exports"):
            return
        self._sweep_exports()
        if not self._step("checking the catalog"):
            return
        recover_store(self.vault, removed_tmp=removed)

    # --- sealing ----------------------------------------------------------------

    def _seal(self, path: Path) -> None:
        folder = self._camera_for(path)
        if folder is None:
            self._pending.pop(path, None)
            return
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
                folder,
                engine=self.vault.engine,
                store=self.vault.store,
                audit=self.vault.audit,
                recipients=self.vault.config.recipients,
                now=self.vault.clock(),
                new_id=self.vault.ctx.new_id,
            )
        except FolderProblem as exc:
            # The folder (or a folder on the way) changed since it was checked.
            self._pending.pop(path, None)
            if exc.path == folder.path:
                self._problems[folder.path] = exc
                self._usable.discard(folder.path)
            self._remember_error(exc.message)
            log.warning("%s; %s was not touched", exc.message, display_name(str(path)))
            return
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
            self._left_alone[version] = exc.clip_id
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
            return
        self.stats.sealed += 1
        log.info("sealed %s -> %s (%d bytes)", display_name(str(path)), sealed.clip_id, sealed.size)
        camera = folder.camera
        if sealed.time_from_mtime and camera.id not in self._fallback_said:
            self._fallback_said.add(camera.id)
            log.warning(
                "camera %s: %s does not match --pattern %r, so its capture time is the "
                "file's mtime (said once per camera; `ringfence status` counts such clips)",
                camera.name,
                display_name(path.name),
                camera.pattern,
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
        """Look at every file in every usable drop folder; quiet old files are ready now."""
        now_w = time.time()
        for path, folder in list(self._folders.items()):  # in the catalog's order
            if path not in self._usable:
                continue
            for file, st in candidates(path, folder.identity):
                if self.stop_requested.is_set():
                    return
                if file in self._pending:
                    continue
                if now_w - st.st_mtime_ns / 1e9 >= self.opts.settle_seconds:
                    self._seal(file)
                else:
                    self._observe(file)

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

    def _held_back(self) -> list[dict[str, Any]]:
        return [
            {
                "path": str(p),
                "size": size,
                "mtime_ns": mtime,
                "clip": clip,
                "reason": "the same bytes as a shredded clip",
            }
            for (p, size, mtime), clip in sorted(self._left_alone.items())
        ]

    def _load_held_back(self) -> None:
        """Files a previous run left alone, unless they changed since."""
        for item in read_heartbeat(self.vault.layout.daemon_state).get("held_back", []):
            try:
                path, size, mtime, clip = (
                    Path(item["path"]),
                    int(item["size"]),
                    int(item["mtime_ns"]),
                    str(item["clip"]),
                )
                st = os.lstat(path)
            except (OSError, KeyError, TypeError, ValueError):
                continue
            if (st.st_size, st.st_mtime_ns) == (size, mtime) and self._is_shredded(clip):
                self._left_alone[(path, size, mtime)] = clip

    def _is_shredded(self, clip_id: str) -> bool:
        with self.vault.reader.connect() as conn:
            row = conn.execute(select(Clip.shredded_at).where(Clip.id == clip_id)).first()
        return row is not None and row[0] is not None

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
            "held_back": self._held_back(),
            "skipped_folders": {str(p): e.message for p, e in sorted(self._problems.items())},
            "receivers": self._receiver_status(),
        }
        self._receivers_written = state["receivers"]
        try:
            write_heartbeat(self.vault.layout.daemon_state, state)
        except RingfenceError as exc:
            log.warning("cannot write the heartbeat: %s", exc.message)

    # --- receivers (vault.ingest.receivers) -------------------------------------------

    def _start_receivers(self) -> None:
        """Start every receiver the vault configures; one that cannot run stops the daemon."""
        v = self.vault
        self._sink = CatalogSink(
            engine=v.engine,
            reader=v.reader,
            store=v.store,
            audit=v.audit,
            recipients=v.config.recipients,
            clock=v.clock,
            new_id=v.ctx.new_id,
        )
        setup = ReceiverSetup(v, self._sink, dict(self.opts.receiver_overrides))
        for receiver in configured(setup):
            receiver.start()
            self._receivers.append(receiver)
            log.info(
                "receiver %s started: %s",
                receiver.name,
                receiver.status().get("listening", "running"),
            )

    def _receiver_status(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for receiver in self._receivers:
            try:
                out[receiver.name] = receiver.status()
            except Exception as exc:  # a status fault must not stop the heartbeat
                out[receiver.name] = {"last_error": f"status: {type(exc).__name__}"}
        return out

    def _receivers_changed(self) -> bool:
        """Whether a receiver's status changed since daemon.json was written, so
        that `status` shows an upload or a refused login within a second."""
        if not self._receivers:
            return False
        return self._receiver_status() != self._receivers_written

    def _collect_received(self) -> None:
        """Clips the receivers recorded since the last look: a checkpoint is due."""
        if self._sink is None:
            return
        n = self._sink.take_recorded()
        if n:
            self.stats.sealed += n
            self.stats.last_ingest_at = iso(self.vault.clock())
            self._dirty = True

    def _stop_receivers(self) -> None:
        while self._receivers:
            receiver = self._receivers.pop()
            try:
                receiver.stop()
            except Exception:  # stop() must not raise; if it does, the others still stop
                log.exception("receiver %s did not stop cleanly", receiver.name)
        self._collect_received()

    def _sweep_exports(self) -> None:
        try:
            swept = self.vault.releases.sweep_abandoned()
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
            report = self.vault.retention.run()
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

    def run(self) -> int:
        """Run until stopped (or one pass with ``once``); returns the exit code.

        Without a *stop* event from the caller, the daemon installs its own
        SIGTERM/SIGINT handlers for the run and puts the old ones back after.
        """
        own = self._own_signals and threading.current_thread() is threading.main_thread()
        old = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) if own else None
        if own:
            install_stop_signals(self.stop_requested)
        try:
            lock = InstanceLock(self.vault.layout.lock)
            lock.acquire()
            try:
                return self._run_locked()
            except SQLAlchemyError as exc:
                err = catalog_write_error(exc, "the daemon cannot write the catalog")
                if err is exc:
                    raise
                raise err from exc
            finally:
                lock.release()
        finally:
            if old is not None:
                signal.signal(signal.SIGTERM, old[0])
                signal.signal(signal.SIGINT, old[1])

    def _step(self, what: str) -> bool:
        """Log the start-up step about to run; False when a stop was asked for."""
        if self.stop_requested.is_set():
            if not self._stopped_early:
                self._stopped_early = True
                log.info("stopped during start-up, before %s", what)
            return False
        log.debug("start-up: %s", what)
        return True

    def _run_locked(self) -> int:
        if not self._step("recovery"):
            return 0
        self.recover()
        if not self._step("loading cameras"):
            return 0
        self._load_held_back()
        self._load_cameras()
        if not self._step("the start entry"):
            return 0
        self.vault.audit.append(
            events.DAEMON_STARTED,
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
        from vault.ingest.watcher import FolderWatcher

        watcher = FolderWatcher(self.events)
        try:
            self._start_receivers()
            watched = self._start_watching(watcher)
            # Announce the daemon only once it is watching: a clip closed after
            # daemon.json appears always gets its close event.
            self.heartbeat()
            log.info(
                "watching %d folder(s): %s",
                len(watched),
                ", ".join(display_name(str(p)) for p in sorted(watched)) or "none yet",
            )
            self.rescan()
            self._sign_if_dirty()
            last_rescan = last_beat = time.monotonic()
            last_periodic = float("-inf")  # retention runs once right at start
            while not self.stop_requested.is_set():
                self._drain_events(timeout=0.2 if self._pending else 1.0)
                for path in self._ready_pending():
                    if self.stop_requested.is_set():
                        break
                    self._seal(path)
                self._collect_received()
                if self.events.empty():
                    self._sign_if_dirty()
                now = time.monotonic()
                if now - last_rescan >= self.opts.rescan_seconds:
                    self._load_cameras()
                    if self._usable != watched:
                        watcher.stop()
                        watcher = FolderWatcher(self.events)
                        added = self._usable - watched
                        watched = self._start_watching(watcher)
                        if added & watched:
                            log.info(
                                "now also watching %s",
                                ", ".join(display_name(str(p)) for p in sorted(added)),
                            )
                    self.rescan()
                    # An export killed while this daemon runs leaves plaintext
                    # in its staging folder: do not wait for the next start.
                    self._sweep_exports()
                    last_rescan = now
                if now - last_beat >= self.opts.heartbeat_seconds or self._receivers_changed():
                    self.heartbeat()
                    last_beat = now
                if now - last_periodic >= self.opts.retention_seconds:
                    self._periodic()
                    last_periodic = now
        finally:
            self._stop_receivers()
            watcher.stop()
            self._stop()
        return 0

    def _start_watching(self, watcher: Any) -> set[Path]:
        """Watch the usable folders; returns those watched. A folder that
        vanished since it was checked is left to the next rescan."""
        failed = watcher.start(sorted(self._usable))
        for path, exc in failed.items():
            log.warning(
                "cannot watch %s (%s); the next rescan tries again",
                display_name(str(path)),
                exc.strerror or type(exc).__name__,
            )
        return self._usable - set(failed)

    def _stop(self) -> None:
        self.vault.audit.append(
            events.DAEMON_STOPPED,
            actor="daemon",
            details={"sealed": self.stats.sealed, "duplicates": self.stats.duplicates},
        )
        self._dirty = True
        self._sign_if_dirty()
        self.heartbeat()
        skipped = f", {len(self._problems)} folder(s) skipped" if self._problems else ""
        log.info(
            "stopped: %d sealed, %d duplicate(s)%s",
            self.stats.sealed,
            self.stats.duplicates,
            skipped,
        )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RingfenceError):
        return exc.message
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    if isinstance(exc, ValueError):
        return f"{type(exc).__name__}: {exc}"
    text = str(getattr(exc, "orig", exc))
    return "the disk is full" if "full" in text else f"catalog error: {text}"
