"""Worker processes that check spans of the log's entries for AuditLog.verify.

A log of millions of entries is parsed and hashed in parallel: each worker
reads its spans straight from the catalog file with sqlite3 (no SQLAlchemy,
no SQLModel: a worker starts fast) and answers with the leaf hashes and the
first problem of each span, which the parent feeds, in index order, to
vault.audit.auditor.LogAuditor.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator

from vault.audit.auditor import EntryRun, check_entry_rows
from vault.errors import StorageError
from vault.hardening import child_env

#: The rows of one span, as check_entry_rows reads them.
SPAN = (
    "SELECT idx, at, type, entry, leaf_hash FROM audit_entry WHERE idx >= ? AND idx < ? "
    "ORDER BY idx"
)


class Workers:
    """Child processes that check spans of entries while this one rebuilds the tree.

    Plain subprocesses speaking a line-and-bytes protocol over pipes, rather
    than multiprocessing: no fork of a process holding SQLite connections, and
    no re-import of the caller's __main__. Span k goes to worker k mod n; the
    results are read back in span order, the pipes pacing the workers.
    """

    def __init__(self, database: str, count: int, spans: list[tuple[int, int]]) -> None:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = child_env()
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        cmd = [
            sys.executable,
            "-c",
            "from vault.audit.workers import worker_main; worker_main()",
            database,
        ]
        self.spans = spans
        self.procs = [
            subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
            for _ in range(count)
        ]
        for k, proc in enumerate(self.procs):
            # From a thread: a long task list must not fill the pipe while the
            # worker waits for us to read its first results.
            tasks = "".join(f"{a} {b}\n" for a, b in spans[k::count]).encode()
            threading.Thread(target=self._send, args=(proc, tasks), daemon=True).start()

    @staticmethod
    def _send(proc: subprocess.Popen[bytes], tasks: bytes) -> None:
        assert proc.stdin is not None
        try:
            proc.stdin.write(tasks)
            proc.stdin.close()
        except OSError:  # the worker died or was stopped; results() reports it
            pass

    def results(self) -> Iterator[EntryRun]:
        for k, (a, _end) in enumerate(self.spans):
            proc = self.procs[k % len(self.procs)]
            assert proc.stdout is not None
            header = proc.stdout.readline()
            if not header:
                raise StorageError("audit verification: a worker process died")
            meta = json.loads(header)
            if "error" in meta or meta.get("start") != a:
                raise StorageError(f"audit verification worker failed: {meta.get('error')}")
            hashes = proc.stdout.read(meta["bytes"])
            problem = meta["problem"]
            yield EntryRun(
                a,
                hashes,
                meta["first_time"],
                meta["last_time"],
                None if problem is None else (problem[0], problem[1]),
            )

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def worker_main() -> None:
    """Entry point of a verification worker: ``start end`` lines in, results out."""
    database = sys.argv[1]
    out = sys.stdout.buffer
    conn = sqlite3.connect(database, timeout=30)
    try:
        for line in sys.stdin:
            start, end = (int(x) for x in line.split())
            try:
                run = check_entry_rows(conn.execute(SPAN, (start, end)), start, end)
            except Exception as exc:  # reported to the parent, which stops
                out.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode() + b"\n")
                out.flush()
                return
            meta = {
                "start": start,
                "bytes": len(run.leaf_hashes),
                "first_time": run.first_time,
                "last_time": run.last_time,
                "problem": run.problem,
            }
            out.write(json.dumps(meta).encode() + b"\n")
            out.write(run.leaf_hashes)
            out.flush()
    finally:
        conn.close()
