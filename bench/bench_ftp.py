"""FTP uploads into ringfence's receiver against a plain pyftpdlib server writing files.

Both servers run as their own processes on loopback and get the same clips
from the same ftplib client, one after the other, in this run:

- **reference**: pyftpdlib's own server with a plain account, writing each
  upload to a file on disk (what a camera's usual FTP target does);
- **ringfence**: the daemon with ``--ftp-listen``, sealing each upload as it
  arrives and recording the clip (its ``226`` comes after the catalog commit).

Then the time from the end of an upload (its data connection closed) to the
clip being listed in the catalog, p50/p99, and a search of the vault and the
daemon's temp folder for the clips' bytes (plaintext bytes written: 0).
"""

from __future__ import annotations

import ftplib
import io
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from bench.common import env_for, percentile, ringfence

MIB = 1 << 20

PLAIN_SERVER = textwrap.dedent("""
    import logging, sys
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer
    logging.basicConfig(level=logging.ERROR)
    auth = DummyAuthorizer()
    auth.add_user("cam", "pw", sys.argv[1], perm="elw")
    handler = type("H", (FTPHandler,), {"authorizer": auth, "use_sendfile": False})
    server = FTPServer(("127.0.0.1", 0), handler)
    print(server.address[1], flush=True)
    server.serve_forever()
""")


def _clips(n: int, size: int, start: int = 0) -> list[bytes]:
    base = bytearray(os.urandom(size))
    out = []
    for i in range(start, start + n):
        base[:16] = i.to_bytes(16, "big")  # each clip its own bytes (no duplicates)
        out.append(bytes(base))
    return out


def _upload_all(port: int, user: str, password: str, clips: list[bytes]) -> float:
    ftp = ftplib.FTP(timeout=600)
    ftp.connect("127.0.0.1", port)
    ftp.login(user, password)
    t0 = time.perf_counter()
    for i, clip in enumerate(clips):
        ftp.storbinary(f"STOR clip-{i:04d}.mp4", io.BytesIO(clip), blocksize=256 * 1024)
    elapsed = time.perf_counter() - t0
    ftp.quit()
    return elapsed


def _wait_for(condition: Any, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise RuntimeError("timed out")
        time.sleep(0.05)


def _clip_count(catalog: Path) -> int:
    conn = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=30)
    try:
        return int(conn.execute("SELECT count(*) FROM clip").fetchone()[0])
    finally:
        conn.close()


def _latencies(port: int, password: str, catalog: Path, clips: list[bytes]) -> list[float]:
    """Seconds from each upload's data connection closing to its row in the catalog."""
    ftp = ftplib.FTP(timeout=600)
    ftp.connect("127.0.0.1", port)
    ftp.login("front", password)
    out = []
    have = _clip_count(catalog)
    for i, clip in enumerate(clips):
        conn = ftp.transfercmd(f"STOR late-{i:04d}.mp4")
        conn.sendall(clip)
        conn.close()
        t_end = time.perf_counter()
        while _clip_count(catalog) <= have:
            time.sleep(0.001)
        out.append(time.perf_counter() - t_end)
        have += 1
        ftp.voidresp()
    ftp.quit()
    return out


def _plaintext_found(roots: list[Path], clips: list[bytes]) -> int:
    """Files under *roots* holding a 4 KiB run from the middle of any clip."""
    needles = [c[len(c) // 2 : len(c) // 2 + 4096] for c in clips]
    found = 0
    for root in roots:
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                try:
                    data = (Path(dirpath) / name).read_bytes()
                except OSError:
                    continue
                found += sum(1 for n in needles if n in data)
    return found


def main(quick: bool = False) -> dict[str, Any]:
    n, size, late_n = (20, 5 * MIB, 20) if quick else (200, 5 * MIB, 100)
    clips = _clips(n, size)
    with tempfile.TemporaryDirectory(prefix="rf-bench-ftp-") as tmp_name:
        tmp = Path(tmp_name)
        # --- reference: plain pyftpdlib writing files
        files = tmp / "plain"
        files.mkdir()
        plain = subprocess.Popen(
            [sys.executable, "-c", PLAIN_SERVER, str(files)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert plain.stdout is not None
            plain_port = int(plain.stdout.readline())
            plain_s = _upload_all(plain_port, "cam", "pw", clips)
        finally:
            plain.terminate()
            plain.wait()
        # --- ringfence: the daemon's receiver
        vault = tmp / "vault"
        ringfence(vault, "init", "--kdf-log-n", "12")
        password = json.loads(ringfence(vault, "camera", "add", "front", "--ftp", "--json").stdout)[
            "ftp"
        ]["password"]
        daemon_tmp = tmp / "daemon-tmp"
        daemon_tmp.mkdir()
        env = {**env_for(vault), "TMPDIR": str(daemon_tmp)}
        daemon = subprocess.Popen(
            [sys.executable, "-m", "vault", "daemon", "--ftp-listen", "127.0.0.1:0"],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        try:
            state = vault / "daemon.json"
            _wait_for(
                lambda: (
                    state.exists() and "ftp" in json.loads(state.read_text()).get("receivers", {})
                )
            )
            port = int(
                json.loads(state.read_text())["receivers"]["ftp"]["listening"].rpartition(":")[2]
            )
            ring_s = _upload_all(port, "front", password, clips)
            catalog = vault / "catalog.db"
            _wait_for(lambda: _clip_count(catalog) == n)
            late = _latencies(port, password, catalog, _clips(late_n, size, start=n))
        finally:
            daemon.terminate()
            daemon.wait()
        found = _plaintext_found([vault, daemon_tmp], clips[:: max(1, n // 10)])
    total = n * size
    return {
        "clips": n,
        "clip_mib": size / MIB,
        "plain_pyftpdlib_s": plain_s,
        "plain_mib_per_s": total / MIB / plain_s,
        "ringfence_s": ring_s,
        "ringfence_mib_per_s": total / MIB / ring_s,
        "time_ratio": ring_s / plain_s,
        "goal_time_ratio": 1.25,
        "upload_to_listed": {
            "uploads": late_n,
            "p50_ms": percentile(late, 0.5) * 1000,
            "p99_ms": percentile(late, 0.99) * 1000,
        },
        "plaintext_bytes_found": found,
        "load_average_1m": os.getloadavg()[0],
    }


if __name__ == "__main__":
    print(json.dumps(main(quick="--quick" in sys.argv), indent=2))
