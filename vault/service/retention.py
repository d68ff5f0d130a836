"""Retention, legal holds and crypto-shredding.

Shredding a clip deletes its age header, the only wrapped copy of its file
key, from the catalog. Every copy of the payload, here or in a backup, is then
noise, even to the owner's identity. The order makes a crash at any instant
safe: (1) one transaction nulls the header, marks the row shredded (the row
and its hashes stay, for records and the one-clip-per-bytes key), logs
``clip.shredded`` and stores the signed deletion record; (2) the payload is
removed from the store; (3) the write-ahead log is checkpointed and truncated,
and the catalog files are searched for the wrapped keys that were shredded
(rebuilt with VACUUM if any is found). ``secure_delete`` (vault.catalog.db)
makes SQLite overwrite the freed bytes with zeros in step 1.

Nothing held is ever shredded: not by retention, not by the disk-pressure
policy, not by the owner (see docs/retention.md for why).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Connection

from vault.audit import events
from vault.canonical import canonical_json, parse_canonical
from vault.catalog.db import TRUNCATE_WAL
from vault.catalog.models import (
    Camera,
    Clip,
    DeletionRecord,
)
from vault.errors import IntegrityError, NotFound, PolicyError, StorageError
from vault.jsonout import to_json
from vault.keyscan import ScanError, key_lines, live_copies
from vault.retention import (
    DISK_PRESSURE,
    OWNER,
    RECORD_VERSION,
    RETENTION,
    ClipFacts,
    ManualHold,
    RequestScope,
    Verdict,
    judge,
    pressure_victims,
    sign_record,
)
from vault.service.backup_log import latest_backups, sweep_staging
from vault.service.context import VaultContext
from vault.service.holds import HoldService, reason_text
from vault.service.keyring import Keyring
from vault.service.requests import RequestService
from vault.service.results import ScrubResult, ShredResult
from vault.service.status import StatusService
from vault.timeutil import iso

log = logging.getLogger("ringfence.retention")

BATCH = 500


def residual_risk(backups: Sequence[dict[str, str]]) -> str:
    """What a deletion record says of the copies shredding cannot reach at once."""
    if backups:
        where = "; ".join(f"{b['destination']} (last updated {b['updated_at']})" for b in backups)
        first = (
            "Backups taken before this deletion keep these clips' headers until "
            f"their next `ringfence backup` run, which removes them: {where}."
        )
    else:
        first = "This vault has no record of any backup."
    return (
        first + " Copies made by other means (file copies, disk images, file-system "
        "snapshots, a remote's own versions or trash) are outside the vault's reach."
    )


@dataclass(frozen=True)
class DiskPressure:
    """The free space against ``min_free``. JSON: the fields, ``low`` and ``message``."""

    free_bytes: int
    min_free_bytes: int
    shred_on_pressure: bool

    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = ("low", "message")

    @property
    def low(self) -> bool:
        return self.free_bytes < self.min_free_bytes

    def message(self) -> str:
        if not self.low:
            return "free space is above the threshold"
        then = (
            "the oldest unheld clips are shredded until it is (shred_on_pressure)"
            if self.shred_on_pressure
            else "held and unexpired clips are kept: free some space, lower a camera's "
            "retention, or set shred_on_pressure"
        )
        return (
            f"LOW DISK SPACE: {self.free_bytes} bytes free, below the threshold of "
            f"{self.min_free_bytes}; {then}"
        )


@dataclass(frozen=True)
class RetentionReport:
    """What a retention run shredded (or would, in a dry run) and what it kept
    because something holds it; its deletion record, the disk and the scrub."""

    at: datetime
    dry_run: bool
    grace_days: int
    shredded: list[dict[str, Any]] = field(default_factory=list)  # or would be, in a dry run
    held: list[dict[str, Any]] = field(default_factory=list)  # due, but held
    record: str | None = None
    disk: DiskPressure | None = None
    scrub: ScrubResult | None = None

    def as_json(self) -> dict[str, Any]:
        result: dict[str, Any] = to_json(self)
        return result


def _clip_json(v: Verdict, **extra: Any) -> dict[str, Any]:
    return {
        "id": v.clip.id,
        "camera": v.clip.camera,
        "captured_at": iso(v.clip.captured_at),
        "expires_at": iso(v.expires_at),
        "payload_size": v.clip.payload_size,
        **extra,
    }


class RetentionService:
    """Retention runs, the owner's shredding, and the disk-pressure policy.

    *holds* says what holds clips; *requests* lapses what is due first;
    *status* reports the free space.
    """

    def __init__(
        self,
        ctx: VaultContext,
        keyring: Keyring,
        holds: HoldService,
        requests: RequestService,
        status: StatusService,
    ) -> None:
        self.ctx = ctx
        self.keyring = keyring
        self.holds = holds
        self.requests = requests
        self.status = status

    # --- what holds what --------------------------------------------------------

    def _facts(self, conn: Connection, where: Any) -> list[ClipFacts]:
        rows = conn.execute(
            select(
                Clip.id,
                Camera.name,
                Clip.captured_at,
                Camera.retention_days,
                Clip.payload_size,
                Clip.shredded_at,
            )
            .join(Camera, Camera.id == Clip.camera_id)
            .where(where)
            .order_by(Clip.captured_at, Clip.id)
        )
        return [ClipFacts(r[0], r[1], r[2], r[3], r[4], r[5] is not None) for r in rows]

    def _due(self, conn: Connection, now: datetime) -> list[ClipFacts]:
        out: list[ClipFacts] = []
        for cam_id, days in conn.execute(
            select(Camera.id, Camera.retention_days).where(Camera.retention_days > 0)
        ):
            try:
                cutoff = now - timedelta(days=days)
            except OverflowError:
                continue  # set by hand beyond the calendar: nothing can be that old
            out += self._facts(
                conn,
                and_(
                    Clip.camera_id == cam_id,
                    Clip.shredded_at.is_(None),  # type: ignore[union-attr]
                    Clip.captured_at <= cutoff,
                ),
            )
        return out

    def _oldest(self, conn: Connection) -> Iterator[ClipFacts]:
        """Every unshredded clip, oldest first, read in batches."""
        last: tuple[datetime, str] | None = None
        while True:
            where: Any = Clip.shredded_at.is_(None)  # type: ignore[union-attr]
            if last is not None:
                where = and_(
                    where,
                    or_(
                        Clip.captured_at > last[0],
                        and_(Clip.captured_at == last[0], Clip.id > last[1]),
                    ),
                )
            rows = conn.execute(
                select(
                    Clip.id, Camera.name, Clip.captured_at, Camera.retention_days, Clip.payload_size
                )
                .join(Camera, Camera.id == Clip.camera_id)
                .where(where)
                .order_by(Clip.captured_at, Clip.id)
                .limit(BATCH)
            ).all()
            if not rows:
                return
            for r in rows:
                yield ClipFacts(r[0], r[1], r[2], r[3], r[4])
            last = (rows[-1][2], rows[-1][0])

    # --- shredding ----------------------------------------------------------------

    def shred(self, clip_id: str, reason: str, *, actor: str = "owner") -> ShredResult:
        """Shred one clip now. Refused (PolicyError) while anything holds it.

        Needs no passphrase: shredding opens nothing, and it is logged and
        recorded like every deletion (docs/retention.md explains the choice).
        """
        text = reason_text(reason)
        now = self.ctx.clock()
        with self.ctx.engine.begin() as conn:
            facts = self._facts(conn, Clip.id == clip_id)
            if not facts:
                raise NotFound(f"no clip {clip_id!r}")
            if facts[0].shredded:
                raise PolicyError(f"clip {clip_id} was already shredded")
            holds, requests = self.holds.policy(conn)
            [verdict] = judge(facts, holds, requests, now, self.holds.grace)
            if verdict.held_by:
                raise PolicyError(
                    f"clip {clip_id} is held by "
                    + "; ".join(h.describe() for h in verdict.held_by)
                    + ": it cannot be shredded while held"
                )
            record, keys = self._shred_rows(conn, [(verdict, OWNER, text)], OWNER, text, now, actor)
        scrub = self._finish_shredding([clip_id], keys)
        return ShredResult(clip=clip_id, shredded_at=now, record=record["id"], scrub=scrub)

    def _shred_rows(
        self,
        conn: Connection,
        chosen: Sequence[tuple[Verdict, str, str]],
        trigger: str,
        reason: str,
        now: datetime,
        actor: str,
    ) -> tuple[dict[str, Any], set[bytes]]:
        """Inside the caller's transaction: sign the record, null the headers, log it all."""
        ids = [v.clip.id for v, _rule, _why in chosen]
        rows: dict[str, Any] = {}
        for i in range(0, len(ids), BATCH):
            for r in conn.execute(select(Clip).where(Clip.id.in_(ids[i : i + BATCH]))):  # type: ignore[attr-defined]
                rows[r.id] = r
        record_id = self.ctx.new_id("deletion")
        clips = []
        for v, rule, why in chosen:
            r = rows[v.clip.id]
            clips.append(
                {
                    "id": r.id,
                    "camera": v.clip.camera,
                    "captured_at": iso(r.captured_at),
                    "ingested_at": iso(r.ingested_at),
                    "size": r.size,
                    "sha256": r.sha256,
                    "payload_size": r.payload_size,
                    "payload_sha256": r.payload_sha256,
                    "rule": rule,
                    "why": why,
                }
            )
        backups = latest_backups(self.ctx.audit.raw_of_types([events.BACKUP_TAKEN], conn))
        record = sign_record(
            {
                "version": RECORD_VERSION,
                "id": record_id,
                "vault": self.ctx.config.origin,
                "created_at": iso(now),
                "actor": actor,
                "trigger": trigger,
                "reason": reason,
                "grace_days": self.ctx.config.retention_grace_days,
                "clips": clips,
                "backups": backups,
                "residual_risk": residual_risk(backups),
            },
            self.keyring.device_signer(),
        )
        text = canonical_json(record)
        digest = hashlib.sha256(text).hexdigest()
        keys: set[bytes] = set()
        entries: list[tuple[str, dict[str, Any]]] = []
        for c in clips:
            header = rows[c["id"]].header
            if header is not None:
                keys |= key_lines(bytes(header))
            done = conn.execute(
                update(Clip)
                .where(Clip.id == c["id"], Clip.shredded_at.is_(None))  # type: ignore[union-attr]
                .values(header=None, shredded_at=now)
            )
            if done.rowcount != 1:
                raise PolicyError(f"clip {c['id']} was shredded meanwhile; run again")
            entries.append(
                (
                    events.CLIP_SHREDDED,
                    {
                        "actor": actor,
                        "subject": c["id"],
                        "details": {
                            "camera": c["camera"],
                            "captured_at": c["captured_at"],
                            "sha256": c["sha256"],
                            "payload_sha256": c["payload_sha256"],
                            "rule": c["rule"],
                            "why": c["why"],
                            "record": record_id,
                            "record_sha256": digest,
                        },
                    },
                )
            )
        self.ctx.audit.append_many(entries, conn=conn)
        conn.execute(
            insert(DeletionRecord).values(
                id=record_id, created_at=now, reason=reason, record=text.decode()
            )
        )
        return record, keys

    def _finish_shredding(self, clip_ids: Sequence[str], keys: set[bytes]) -> ScrubResult:
        """After the commit: remove payloads, sign a checkpoint, scrub the catalog files."""
        # First, before anything can fail or be killed: the shredded headers'
        # old page images leave the WAL (the scrub below retries and proves
        # it; a kill before this line is covered by the next open_catalog).
        self._pragma(TRUNCATE_WAL)
        failed = []
        for cid in clip_ids:
            try:
                self.ctx.store.delete(cid)
            except StorageError as exc:
                failed.append(f"{cid}: {exc.message}")
        self.keyring.checkpoint()
        scrub = self._scrub(keys)
        if not sweep_staging(self.ctx.layout):
            log.info("a backup is running: it removes the shredded headers from its own copy")
        if failed:
            raise StorageError(
                "shredded (the keys are gone), but payloads could not be "
                f"removed: {'; '.join(failed)}"
            )
        return scrub

    # --- scrubbing the catalog files ---------------------------------------------------

    def _catalog_files(self) -> list[Path]:
        base = self.ctx.layout.catalog
        return [
            p
            for p in (base, base.with_name(base.name + "-wal"), base.with_name(base.name + "-shm"))
            if p.exists()
        ]

    def _pragma(self, sql: str) -> Any:
        raw = self.ctx.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(sql)  # outside any transaction: the driver runs in autocommit
            return cur.fetchone()
        finally:
            raw.close()

    def _truncate_wal(self) -> None:
        """Copy the WAL into the database and truncate it to zero bytes."""
        for _attempt in range(3):
            busy = self._pragma(TRUNCATE_WAL)[0]
            if not busy:
                return
            time.sleep(0.5)
        raise StorageError(
            "shredded, but another process kept reading the catalog, so its write-ahead log "
            "(catalog.db-wal) may still hold old copies; run `ringfence retention run` again"
        )

    def _copies_left(self, keys: set[bytes]) -> list[str]:
        """The live catalog files that still hold any of *keys*, searched by a
        child process so this one's SQLite locks stay in place (vault.keyscan)."""
        try:
            return [path.name for path in live_copies(self._catalog_files(), keys)]
        except ScanError as exc:
            raise StorageError(
                f"shredded, but {exc}; run `ringfence retention run` again"
            ) from None

    def _scrub(self, keys: set[bytes]) -> ScrubResult:
        """Make sure no catalog file still holds a shredded wrapped key.

        secure_delete zeroes the old cell and the truncated WAL takes the old
        page images with it; the search then proves it. Should a copy survive
        anyway (a page SQLite rebuilt without clearing its gap), VACUUM writes
        every page afresh.
        """
        self._truncate_wal()
        if not keys:
            return ScrubResult(wal_truncated=True, vacuumed=False)
        found = self._copies_left(keys)
        vacuumed = False
        if found:
            log.warning("shredded keys still in %s: rebuilding the catalog", ", ".join(found))
            self._pragma("VACUUM")
            self._truncate_wal()
            vacuumed = True
            found = self._copies_left(keys)
            if found:
                raise IntegrityError(f"shredded keys are still in {', '.join(found)} after VACUUM")
        return ScrubResult(wal_truncated=True, vacuumed=vacuumed, copies_left=tuple(found))

    # --- retention ------------------------------------------------------------------------

    def disk_pressure(self) -> DiskPressure:
        return DiskPressure(
            self.status.free_bytes(),
            self.ctx.config.min_free_bytes,
            self.ctx.config.shred_on_pressure,
        )

    def run(self, dry_run: bool = False) -> RetentionReport:
        """Shred every clip past its camera's retention that nothing holds.

        With ``shred_on_pressure`` and free space below ``min_free_bytes``, the
        oldest unheld clips go too, until the threshold is met. One signed
        deletion record covers everything a run shreds. A dry run changes nothing.
        """
        if not dry_run:
            self.requests.lapse_due()  # so a request past its deadline starts its grace now
        now = self.ctx.clock()
        disk = self.disk_pressure()
        record_id: str | None = None
        with self.ctx.reader.connect() if dry_run else self.ctx.engine.begin() as conn:
            holds, requests = self.holds.policy(conn)
            verdicts = judge(self._due(conn, now), holds, requests, now, self.holds.grace)
            chosen = [(v, RETENTION, v.why()) for v in verdicts if v.deletable]
            held = [
                _clip_json(v, held_by=[h.as_json() for h in v.held_by])
                for v in verdicts
                if v.due and v.held_by
            ]
            need = (
                disk.min_free_bytes
                - disk.free_bytes
                - sum(v.clip.payload_size for v, _r, _w in chosen)
            )
            if disk.low and disk.shred_on_pressure and need > 0:
                chosen += self._pressure(
                    conn, holds, requests, now, need, {v.clip.id for v, _r, _w in chosen}, disk
                )
            shredded = [_clip_json(v, rule=rule, why=why) for v, rule, why in chosen]
            keys: set[bytes] = set()
            if chosen and not dry_run:
                rules = {r for _v, r, _w in chosen}
                trigger = RETENTION if rules == {RETENTION} else DISK_PRESSURE
                record, keys = self._shred_rows(
                    conn, chosen, trigger, "retention run", now, self.ctx.actor
                )
                record_id = record["id"]
                digest = hashlib.sha256(canonical_json(record)).hexdigest()
                self.ctx.audit.append(
                    events.RETENTION_RUN,
                    actor=self.ctx.actor,
                    subject=record["id"],
                    details={
                        "record": record["id"],
                        "record_sha256": digest,
                        "trigger": trigger,
                        "shredded": len(shredded),
                        "held": len(held),
                        "grace_days": self.ctx.config.retention_grace_days,
                    },
                    conn=conn,
                )
        report = RetentionReport(
            now, dry_run, self.ctx.config.retention_grace_days, shredded, held, record_id
        )
        if dry_run:
            return replace(report, disk=disk)
        scrub = None
        if chosen:
            scrub = self._finish_shredding([v.clip.id for v, _r, _w in chosen], keys)
        else:
            try:  # a shred whose truncation was blocked earlier gets another go
                self._truncate_wal()
            except StorageError as exc:
                log.warning("%s", exc.message)
        self._sweep_payloads(now)
        return replace(report, disk=self.disk_pressure(), scrub=scrub)

    def _pressure(
        self,
        conn: Connection,
        holds: list[ManualHold],
        requests: list[RequestScope],
        now: datetime,
        need: int,
        taken: set[str],
        disk: DiskPressure,
    ) -> list[tuple[Verdict, str, str]]:
        why = (
            f"disk pressure: {disk.free_bytes} bytes free, below {disk.min_free_bytes}; "
            "oldest unheld clip first"
        )
        out: list[tuple[Verdict, str, str]] = []
        batch: list[ClipFacts] = []
        for facts in self._oldest(conn):
            if facts.id not in taken:
                batch.append(facts)
            if len(batch) >= BATCH:
                need = self._take(batch, holds, requests, now, need, why, out)
                batch = []
                if need <= 0:
                    return out
        self._take(batch, holds, requests, now, need, why, out)
        return out

    def _take(
        self,
        batch: list[ClipFacts],
        holds: list[ManualHold],
        requests: list[RequestScope],
        now: datetime,
        need: int,
        why: str,
        out: list[tuple[Verdict, str, str]],
    ) -> int:
        picked = pressure_victims(judge(batch, holds, requests, now, self.holds.grace), need)
        out += [(v, DISK_PRESSURE, why) for v in picked]
        return need - sum(v.clip.payload_size for v in picked)

    def _sweep_payloads(self, now: datetime, days: int = 30) -> None:
        """Remove payloads of recently shredded clips a crash left behind (they are noise)."""
        since = now - timedelta(days=days)
        recent = select(Clip.id).where(Clip.shredded_at >= since)  # type: ignore[operator]
        with self.ctx.reader.connect() as conn:
            ids = [r[0] for r in conn.execute(recent)]
        for cid in ids:
            with contextlib.suppress(StorageError):
                if self.ctx.store.delete(cid):
                    log.info("removed the leftover payload of shredded clip %s", cid)

    def deletion_records(self) -> list[dict[str, Any]]:
        """Every signed deletion record, oldest first."""
        with self.ctx.reader.connect() as conn:
            texts = [
                r[0]
                for r in conn.execute(
                    select(DeletionRecord.record).order_by(DeletionRecord.created_at)
                )
            ]
        return [parse_canonical(t.encode()) for t in texts]
