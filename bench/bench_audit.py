"""Audit log benchmarks: append throughput, full verification and proofs at scale.

Run: python -m bench.bench_audit [--entries N]

* append: one entry per transaction, committed and fsynced (what the daemon does
  for each sealed clip); entries appended inside caller transactions of 100; and
  bulk ``append_many`` in batches of 10,000, which builds the rest of the log.
  The daemon signs a checkpoint every 10,000 entries here.
* verify: ``AuditLog.verify`` on the whole log, with the default worker
  processes and in one process, each as a ratio against a reference pass that
  only reads every entry and SHA-256s it (the floor any verifier pays).
* proofs: many random inclusion and consistency proofs against the full log,
  mean and p99 in milliseconds, as a ratio against one SHA-256 of an entry.
* lookups: entries found by their bytes (one subject; the hold and request
  events retention reads), as a ratio against the reference pass.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.common import percentile
from vault.audit.log import AuditLog
from vault.audit.note import NoteSigner
from vault.catalog.db import open_catalog

ORIGIN = "ringfence.vault/bench"
BULK = 10_000
CHECKPOINT_EVERY = 10_000


def _event(i: int) -> tuple[str, dict[str, Any]]:
    """A clip.sealed entry shaped like the daemon's (~330 bytes of canonical JSON)."""
    return (
        "clip.sealed",
        {
            "actor": "daemon",
            "subject": f"clp_{i:020d}",
            "details": {
                "camera": "front door",
                "captured_at": "2026-11-28T15:19:00Z",
                "size": 40_000_000 + i,
                "sha256": hashlib.sha256(b"%d" % i).hexdigest(),
                "payload_sha256": hashlib.sha256(b"p%d" % i).hexdigest(),
                "name": f"FrontDoor_{i:08d}.mp4",
            },
        },
    )


def _append(log: AuditLog, signer: NoteSigner, entries: int) -> dict[str, Any]:
    single = min(1000, entries // 10)
    t0 = time.perf_counter()
    for i in range(single):
        kind, fields = _event(i)
        log.append(kind, **fields)
    per_commit = (time.perf_counter() - t0) / max(single, 1)

    batched = min(10_000, entries // 10)
    t0 = time.perf_counter()
    done = single
    while done < single + batched:
        with log.engine.begin() as conn:
            for i in range(done, min(done + 100, single + batched)):
                kind, fields = _event(i)
                log.append(kind, conn=conn, **fields)
        done = min(done + 100, single + batched)
    per_batched = (time.perf_counter() - t0) / max(batched, 1)
    log.checkpoint([signer])

    t0 = time.perf_counter()
    sign_s = 0.0
    signed = 0
    bulk = 0
    while done < entries:
        n = min(BULK, entries - done)
        log.append_many([_event(i) for i in range(done, done + n)])
        crossed = done // CHECKPOINT_EVERY != (done + n) // CHECKPOINT_EVERY
        done += n
        bulk += n
        if crossed or done == entries:
            t1 = time.perf_counter()
            log.checkpoint([signer])
            sign_s += time.perf_counter() - t1
            signed += 1
    per_bulk = (time.perf_counter() - t0) / max(bulk, 1)
    return {
        "per_append_own_commit_ms": per_commit * 1e3,
        "per_append_in_100_entry_transactions_ms": per_batched * 1e3,
        "per_append_bulk_append_many_ms": per_bulk * 1e3,
        "checkpoints_signed": len(log.checkpoints()),
        "checkpoint_ms": sign_s * 1e3 / max(1, signed),
    }


def _reference_pass(database: Path) -> float:
    """Read every entry and SHA-256 it: the floor for any full verification."""
    t0 = time.perf_counter()
    conn = sqlite3.connect(database)
    for (data,) in conn.execute("SELECT entry FROM audit_entry ORDER BY idx"):
        hashlib.sha256(b"\x00" + data).digest()
    conn.close()
    return time.perf_counter() - t0


def _verify(log: AuditLog, signer: NoteSigner, database: Path) -> dict[str, Any]:
    keys = [signer.verifier_key()]
    reference = _reference_pass(database)
    t0 = time.perf_counter()
    report = log.verify(keys)
    default_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    single = log.verify(keys, workers=1)
    single_s = time.perf_counter() - t0
    assert report.ok and single.ok, (report, single)
    return {
        "entries": report.size,
        "checkpoints": report.checkpoints_checked,
        "verify_s": default_s,
        "verify_workers": min(os.cpu_count() or 1, 4),
        "verify_one_process_s": single_s,
        "reference_read_and_hash_s": reference,
        "verify_ratio_vs_reference": default_s / reference,
        "verify_one_process_ratio_vs_reference": single_s / reference,
    }


def _lookups(log: AuditLog, database: Path) -> dict[str, Any]:
    """Finding entries by their bytes (what export and retention do, never trusting
    the indexed type column), against the reference pass over the same log."""
    reference = _reference_pass(database)
    t0 = time.perf_counter()
    hits = log.about(subject=f"clp_{log.size() // 2:020d}")
    subject_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    log.about(
        types=(
            "hold.added",
            "hold.released",
            "request.created",
            "request.decided",
            "request.withdrawn",
            "request.expired",
            "export.created",
        )
    )
    types_s = time.perf_counter() - t0
    assert len(hits) == 1
    return {
        "by_subject_s": subject_s,
        "by_type_s": types_s,
        "reference_read_and_hash_s": reference,
        "by_subject_ratio_vs_reference": subject_s / reference,
        "by_type_ratio_vs_reference": types_s / reference,
    }


def _proofs(log: AuditLog, count: int = 2000) -> dict[str, Any]:
    rng = random.Random(6962)
    size = log.size()
    entry = log.entry(size // 2)
    t0 = time.perf_counter()
    for _ in range(10_000):
        hashlib.sha256(b"\x00" + entry).digest()
    sha_ms = (time.perf_counter() - t0) / 10_000 * 1e3

    def timed(fn: Any) -> list[float]:
        out = []
        for _ in range(count):
            t = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t) * 1e3)
        return out

    inclusion = timed(lambda: log.inclusion_proof(rng.randrange(size)))
    consistency = timed(lambda: log.consistency_proof(rng.randrange(1, size)))
    prove = timed(lambda: log.prove(rng.randrange(log.latest_checkpoint().size)))  # type: ignore[union-attr]
    result: dict[str, Any] = {"sha256_of_one_entry_ms": sha_ms}
    for name, values in (
        ("inclusion", inclusion),
        ("consistency", consistency),
        ("tlog_proof", prove),
    ):
        mean = sum(values) / len(values)
        result[f"{name}_mean_ms"] = mean
        result[f"{name}_p99_ms"] = percentile(values, 0.99)
        result[f"{name}_mean_ratio_vs_sha256"] = mean / sha_ms
    return result


def main(entries: int = 1_000_000, workdir: Path | None = None) -> dict[str, Any]:
    """Build a log of *entries*, then measure; returns the figures."""
    with tempfile.TemporaryDirectory(prefix="rf-bench-audit-", dir=workdir) as tmp:
        database = Path(tmp) / "catalog.db"
        engine = open_catalog(database)
        log = AuditLog(engine, ORIGIN)
        signer = NoteSigner(f"{ORIGIN}/device", Ed25519PrivateKey.generate())
        t0 = time.perf_counter()
        out: dict[str, Any] = {"append": _append(log, signer, entries)}
        out["append"]["build_s"] = time.perf_counter() - t0
        out["append"]["catalog_mib"] = database.stat().st_size / (1 << 20)
        print(f"append: {out['append']}", flush=True)
        out["verify"] = _verify(log, signer, database)
        print(f"verify: {out['verify']}", flush=True)
        out["proofs"] = _proofs(log)
        print(f"proofs: {out['proofs']}", flush=True)
        out["lookups"] = _lookups(log, database)
        print(f"lookups: {out['lookups']}", flush=True)
        engine.dispose()
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON at the end")
    args = ap.parse_args()
    result = main(args.entries)
    if args.json:
        print(json.dumps(result, indent=2))
