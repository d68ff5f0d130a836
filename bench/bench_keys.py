"""Headers readdressed for a new key, and incremental backups, against references.

1. **Readdressing headers** (what adding a recipient costs: `key recovery
   create`, and a household member later): a catalog of N clip rows whose
   age headers are real (sealed to the owner), readdressed to the owner plus
   one more recipient (`RecoveryService.create`: every header unwrapped and
   wrapped again, written back in batches with their audit entries). The
   reference is reading the same N headers out of the catalog. The figure
   is the ratio, and headers per second.
2. **Incremental backup**: a vault of V bytes of payloads (8 MiB each, random
   bytes with their hashes in the catalog) is backed up once, 1 % new clips
   are added, and the second `ringfence backup` to the same folder is timed
   against `rsync -a --delete` of the vault folder to another folder that
   rsync had copied before (the same new bytes to move). Wall seconds and
   the ratio; each once, on a cold second run of neither.

Run: python -m bench.bench_keys [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import PASSPHRASE

CLIP_BYTES = 8 << 20


def _rows(vault: Any, count: int, start: int, payload: int | None) -> None:
    """Insert *count* clip rows (and, with *payload*, their blobs of that size)."""
    from vault import age

    recipients = vault.config.recipients
    conn = sqlite3.connect(vault.layout.catalog, timeout=30)
    cam = conn.execute("SELECT id FROM camera").fetchone()
    if cam is None:
        conn.execute(
            "INSERT INTO camera (name, retention_days, created_at) VALUES "
            "('front', 0, '2026-01-01 00:00:00.000000')"
        )
        cam = conn.execute("SELECT id FROM camera").fetchone()
    batch = []
    for i in range(start, start + count):
        cid = f"clp_{i:016x}"
        data = b"" if payload is None else os.urandom(payload)
        sink = io.BytesIO()
        header = age.encrypt_split(io.BytesIO(data), sink, recipients)
        sealed = sink.getvalue()
        if payload is not None:
            path = vault.store.path(cid)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(sealed)
        batch.append(
            (
                cid,
                cam[0],
                f"2026-01-01 00:{i % 60:02d}:00.000000",
                "2026-01-01 01:00:00.000000",
                len(data),
                hashlib.sha256(data + i.to_bytes(8, "big")).hexdigest(),
                len(sealed),
                hashlib.sha256(sealed).hexdigest(),
                header,
                f"{cid}.mp4",
                cid.encode(),
            )
        )
        if len(batch) >= 2000:
            _insert(conn, batch)
            batch = []
    _insert(conn, batch)
    conn.close()


def _insert(conn: sqlite3.Connection, batch: list[tuple[Any, ...]]) -> None:
    conn.executemany(
        "INSERT INTO clip (id, camera_id, captured_at, ingested_at, size, sha256, payload_size, "
        "payload_sha256, header, original_name, source_path, captured_from_mtime) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
        batch,
    )
    conn.commit()


def readdress(headers: int) -> dict[str, Any]:
    from vault.service import Vault

    with tempfile.TemporaryDirectory(prefix="rf-bench-keys-") as tmp:
        os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")
        v = Vault.init(Path(tmp) / "vault", PASSPHRASE, log_n=12)
        try:
            _rows(v, headers, 0, None)
            t0 = time.perf_counter()
            conn = sqlite3.connect(v.layout.catalog)
            total = sum(len(h) for (h,) in conn.execute("SELECT header FROM clip"))
            conn.close()
            read_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            key = v.recovery.create(1, 1)
            rewrap_s = time.perf_counter() - t0
            assert key.headers == headers
        finally:
            v.close()
    return {
        "headers": headers,
        "header_bytes": total,
        "read_s": read_s,
        "readdress_s": rewrap_s,
        "ratio": rewrap_s / read_s,
        "readdress_headers_per_s": headers / rewrap_s,
    }


def incremental(vault_bytes: int) -> dict[str, Any]:
    from vault.service import Vault

    rsync = shutil.which("rsync")
    clips = max(vault_bytes // CLIP_BYTES, 100)
    new = max(clips // 100, 1)
    with tempfile.TemporaryDirectory(prefix="rf-bench-backup-", dir="/var/tmp") as tmp:
        base = Path(tmp)
        os.environ["XDG_CONFIG_HOME"] = str(base / "config")
        v = Vault.init(base / "vault", PASSPHRASE, log_n=12)
        try:
            _rows(v, clips, 0, CLIP_BYTES)
            t0 = time.perf_counter()
            v.backups.take(str(base / "backup"))
            first_s = time.perf_counter() - t0
            if rsync:
                subprocess.run(
                    [rsync, "-a", "--delete", f"{v.root}/", f"{base / 'rsync'}/"], check=True
                )
            _rows(v, new, clips, CLIP_BYTES)
            os.sync()
            t0 = time.perf_counter()
            report = v.backups.take(str(base / "backup"))
            backup_s = time.perf_counter() - t0
            assert report.payloads_added == new
            rsync_s = None
            if rsync:
                t0 = time.perf_counter()
                subprocess.run(
                    [rsync, "-a", "--delete", f"{v.root}/", f"{base / 'rsync'}/"], check=True
                )
                rsync_s = time.perf_counter() - t0
        finally:
            v.close()
    return {
        "vault_gib": round(clips * CLIP_BYTES / (1 << 30), 2),
        "clips": clips,
        "new_clips": new,
        "first_backup_s": first_s,
        "incremental_backup_s": backup_s,
        "rsync_s": rsync_s,
        "ratio_to_rsync": None if rsync_s is None else backup_s / rsync_s,
    }


def main(quick: bool = False) -> dict[str, Any]:
    return {
        "readdress": readdress(10_000 if quick else 100_000),
        "backup": incremental((1 << 30) if quick else (10 << 30)),
        "method": "readdress: RecoveryService.create over N real headers vs one SELECT of "
        "them; backup: the second BackupService.take after 1 % new 8 MiB clips vs "
        "rsync -a --delete of the vault folder (each copy made once before)",
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--part", choices=["readdress", "backup"])
    args = ap.parse_args()
    if args.part == "readdress":
        print(readdress(10_000 if args.quick else 100_000))
    elif args.part == "backup":
        print(incremental((1 << 30) if args.quick else (10 << 30)))
    else:
        print(main(args.quick))
