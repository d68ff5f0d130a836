"""The stream recorder's CPU per stream at 1080p: it only copies packets.

A 1080p H.264 stream (30 fps, a keyframe every 2 s) is served once over HTTP
on loopback and recorded by a real daemon into 10 s sealed segments. The
daemon's CPU time (user + system, from /proc) while it records is set
against two references measured in the same run on the same file:

- ``ffmpeg -c copy`` into fragmented MP4 (remux only, what the recorder does,
  minus the sealing and the catalog);
- ``ffmpeg -f null`` with one decoding thread (what decoding every frame costs).

A recorder that decoded would cost about as much as the second; the goal is
to stay near the first. Reported per second of footage, so that
``cpu_per_footage_second`` is the share of one core a live stream takes.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.common import env_for, proc_cpu_seconds, ringfence

FPS = 30


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _ffmpeg_cpu(args: list[str]) -> float:
    before = _child_cpu()
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True)
    return _child_cpu() - before


def _serve_once(body: bytes, ready: threading.Event) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if not ready.is_set():
                self.send_error(503)  # until the daemon's start-up CPU is read
                return
            if getattr(self.server, "served", False):
                self.send_error(404)
                return
            self.server.served = True  # type: ignore[attr-defined]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _segments(catalog: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM clip").fetchone()[0])
    finally:
        conn.close()


def main(quick: bool = False) -> dict[str, Any]:
    seconds = 20 if quick else 60
    with tempfile.TemporaryDirectory(prefix="rf-bench-recorder-") as tmp_name:
        tmp = Path(tmp_name)
        source = tmp / "source.mp4"
        subprocess.run(
            [
                "ffmpeg", "-loglevel", "error", "-y",
                "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate={FPS}",
                "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast",
                "-g", str(2 * FPS), "-pix_fmt", "yuv420p",
                "-movflags", "frag_keyframe+empty_moov", str(source),
            ],
            check=True,
        )  # fmt: skip
        source_mib = source.stat().st_size / (1 << 20)
        remux_cpu = _ffmpeg_cpu(
            ["-i", str(source), "-c", "copy", "-f", "mp4", "-movflags",
             "frag_keyframe+empty_moov+default_base_moof", str(tmp / "copy.mp4")]
        )  # fmt: skip
        decode_cpu = _ffmpeg_cpu(["-threads", "1", "-i", str(source), "-f", "null", "-"])

        vault = tmp / "vault"
        ringfence(vault, "init", "--kdf-log-n", "12")
        ready = threading.Event()
        server = _serve_once(source.read_bytes(), ready)
        url = f"http://127.0.0.1:{server.server_address[1]}/stream.mp4"
        ringfence(vault, "camera", "add", "door", "--stream", url, "--segment-seconds", "10")
        expected = seconds // 10
        daemon = subprocess.Popen(
            [sys.executable, "-m", "vault", "daemon"], env=env_for(vault), stderr=subprocess.DEVNULL
        )
        try:
            catalog = vault / "catalog.db"
            deadline = time.monotonic() + 600
            while not (vault / "daemon.json").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(1.0)  # the recorder is retrying against the 503 by now
            idle_cpu = proc_cpu_seconds(daemon.pid)  # start-up, before the stream is read
            ready.set()
            t0 = time.perf_counter()
            while _segments(catalog) < expected and time.monotonic() < deadline:
                time.sleep(0.05)
            wall = time.perf_counter() - t0
            recorder_cpu = proc_cpu_seconds(daemon.pid) - idle_cpu
            got = _segments(catalog)
        finally:
            daemon.terminate()
            daemon.wait()
            server.shutdown()
            server.server_close()
    return {
        "footage_seconds": seconds,
        "source_mib": source_mib,
        "resolution": "1920x1080",
        "fps": FPS,
        "segments": got,
        "recorder_cpu_s": recorder_cpu,
        "recorder_wall_s": wall,
        "cpu_per_footage_second": recorder_cpu / seconds,
        "ffmpeg_copy_cpu_s": remux_cpu,
        "ffmpeg_decode_cpu_s": decode_cpu,
        "ratio_to_copy": recorder_cpu / remux_cpu if remux_cpu else None,
        "ratio_to_decode": recorder_cpu / decode_cpu if decode_cpu else None,
    }


if __name__ == "__main__":
    print(json.dumps(main(quick="--quick" in sys.argv), indent=2))
