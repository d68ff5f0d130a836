"""What the vault is doing: daemon, clips per camera, drop folders, waiting and
held-back files, payloads the catalog does not know, storage.

Read without any key and without SQLAlchemy: one :mod:`vault.catalog.snapshot`
answers every catalog and log question of a report, so ``ringfence status``
starts in a fraction of the time the engine's import takes, and all its
figures are of one moment.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from vault.audit import reads
from vault.catalog.snapshot import CatalogSnapshot, read_snapshot
from vault.config import Config, Layout
from vault.ingest.folders import FolderStatus, folder_status
from vault.ingest.scan import candidates
from vault.lock import is_held, read_heartbeat
from vault.service.census import StoreListing
from vault.service.results import CameraStatus, DaemonState, HeldBack, VaultStatus
from vault.store import BlobStore


class StatusService:
    """What the vault is doing, read without any key."""

    def __init__(self, layout: Layout, config: Config, store: BlobStore) -> None:
        self.layout = layout
        self.config = config
        self.store = store

    def daemon_running(self) -> bool:
        return is_held(self.layout.lock)

    def _drop_folders(self) -> list[tuple[str, Path, str | None]]:
        with read_snapshot(self.layout.catalog) as snap:
            return snap.drop_folders()

    def folders(self) -> list[FolderStatus]:
        """Every drop folder and whether the daemon can use it now (missing,
        a symlink, replaced since ``camera add``)."""
        return [folder_status(name, path, ident) for name, path, ident in self._drop_folders()]

    def files_waiting(self) -> int:
        return _waiting(self._drop_folders())

    def held_back(self) -> list[HeldBack]:
        """Files the daemon left in a drop folder on purpose (the bytes of a
        shredded clip), from its last run, running or not; a file that was
        removed or changed since is no longer listed."""
        out = []
        for item in _list(read_heartbeat(self.layout.daemon_state).get("held_back")):
            try:
                st = os.lstat(item["path"])
                same = (st.st_size, st.st_mtime_ns) == (int(item["size"]), int(item["mtime_ns"]))
            except (OSError, KeyError, TypeError, ValueError):
                continue
            if same:
                out.append(
                    HeldBack(
                        str(item["path"]),
                        _text_or_none(item.get("clip")),
                        _text_or_none(item.get("reason")),
                    )
                )
        return out

    def stored_bytes(self) -> int:
        """Bytes of sealed payloads, from the catalog (no walk over the store)."""
        with read_snapshot(self.layout.catalog) as snap:
            return snap.stored_bytes()

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.layout.root).free

    def report(self) -> VaultStatus:
        beat = read_heartbeat(self.layout.daemon_state)
        running = self.daemon_running()
        listing = StoreListing(self.store)  # before the snapshot (see StoreListing)
        with read_snapshot(self.layout.catalog) as snap:
            return self._report(snap, beat, running, listing)

    def _report(
        self, snap: CatalogSnapshot, beat: dict[str, Any], running: bool, listing: StoreListing
    ) -> VaultStatus:
        cameras = snap.cameras()
        folders = snap.drop_folders()
        census = listing.census(snap)
        last = max((c.last_ingest for c in cameras if c.last_ingest is not None), default=None)
        free = self.free_bytes()
        logins = _ftp_logins(self.layout)
        return VaultStatus(
            vault=self.layout.root,
            daemon=DaemonState(
                running=running,
                pid=_int_or_none(beat.get("pid")) if running else None,
                started_at=_text_or_none(beat.get("started_at")) if running else None,
                last_beat=_text_or_none(beat.get("beat_at")),
                errors=tuple(str(e) for e in _list(beat.get("errors"))) if running else (),
            ),
            receivers=_receivers(beat.get("receivers")) if running else {},
            cameras=tuple(
                CameraStatus(
                    name=c.name,
                    clips=c.clips,
                    last_ingest=c.last_ingest,
                    time_from_mtime=c.time_from_mtime,
                    truncated=c.truncated,
                    ftp=c.name in logins,
                )
                for c in cameras
            ),
            folders=tuple(folder_status(n, p, i) for n, p, i in folders),
            clips=sum(c.clips for c in cameras),
            truncated=sum(c.truncated for c in cameras),
            last_ingest=last,
            files_waiting=_waiting(folders),
            held_back=tuple(self.held_back()),
            unknown_payloads=tuple(census.unknown),
            store_bytes=snap.stored_bytes(),
            free_bytes=free,
            low_disk=free < self.config.min_free_bytes,
            audit_size=reads.log_size(snap.connection),
        )


# The heartbeat file is the daemon's JSON, but whoever can write the vault's
# folder can change it: a field of the wrong type is read as absent.


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _receivers(value: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, dict)}


def _text_or_none(value: Any) -> str | None:
    """A heartbeat field as text (the heartbeat file is the daemon's own JSON)."""
    return None if value is None else str(value)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _waiting(folders: list[tuple[str, Path, str | None]]) -> int:
    return sum(1 for _name, f, ident in folders for _ in candidates(f, ident))


def _ftp_logins(layout: Layout) -> set[str]:
    """The cameras with an FTP login, read from the account file as JSON (no
    verifier is checked here, so status needs no crypto import)."""
    import json

    from vault.fsutil import read_regular

    try:
        doc = json.loads(read_regular(layout.ftp_accounts, 1 << 20))
        return {str(row["login"]) for row in doc["accounts"]}
    except (OSError, ValueError, KeyError, TypeError):
        return set()
