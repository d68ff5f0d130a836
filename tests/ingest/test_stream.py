"""The stream recorder in a real daemon process: an HTTP MP4 stream and an
RTSP stream (Debian's rtsp-server-perl fed by ffmpeg) on loopback, real
H.264 with sound, every segment opened with the stock age tool and decoded,
the stream's password searched for everywhere it must not be, SIGKILL."""

from __future__ import annotations

import base64
import fcntl
import json
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.tools import PASSPHRASE, cli_env, files_with, require_module, require_tool, run_cli
from vault import keys
from vault.config import Layout
from vault.errors import VaultError
from vault.ingest.streams import check_url, load_streams, redact, redact_text
from vault.service import Vault

DEADLINE = 120.0
SECRET = "pw-Zq81-never-shown"
SOURCE_SECONDS = 12
FPS = 15


def wait_for(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + DEADLINE
    while True:
        got = condition()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s of 640×360 H.264 at 15 fps, a keyframe every second, with AAC sound,
    as fragmented MP4 (so that it can be sent as a stream)."""
    ffmpeg = require_tool("ffmpeg")
    path = tmp_path_factory.mktemp("stream-source") / "source.mp4"
    subprocess.run(
        [
            ffmpeg, "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc=size=640x360:rate={FPS}",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-t", str(SOURCE_SECONDS),
            "-c:v", "libx264", "-g", str(FPS), "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-movflags", "frag_keyframe+empty_moov",
            str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


@dataclass
class Site:
    vault: Path
    tmp: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_cli(self.vault, *args, check=check)

    def add_stream(self, *args: str, url: str) -> subprocess.CompletedProcess[str]:
        """`camera add … --stream -`, the URL given on standard input."""
        return subprocess.run(
            [sys.executable, "-m", "vault", "camera", "add", *args, "--stream", "-"],
            env=cli_env(self.vault),
            input=url,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def start(self) -> subprocess.Popen[bytes]:
        state = self.vault / "daemon.json"
        state.unlink(missing_ok=True)
        self.tmp.mkdir(exist_ok=True)
        log = self.tmp.parent / f"daemon-{len(self.procs)}.log"
        self.logs.append(log)
        proc = subprocess.Popen(
            [sys.executable, "-m", "vault", "daemon"],
            env=cli_env(self.vault, RINGFENCE_LOG="INFO", TMPDIR=str(self.tmp)),
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),
        )
        self.procs.append(proc)
        wait_for(lambda: state.exists() or proc.poll() is not None, "the daemon to start")
        assert proc.poll() is None, log.read_text()
        return proc

    def clips(self) -> list[dict[str, Any]]:
        return list(json.loads(self.cli("clips", "list", "--json").stdout))

    def stream_status(self, camera: str) -> dict[str, Any]:
        beat = json.loads((self.vault / "daemon.json").read_text())
        return dict(beat.get("receivers", {}).get("streams", {}).get(camera) or {})

    def opened(self, clip_id: str) -> bytes:
        """The clip as the stock age tool decrypts it, with the owner's identity."""
        age_bin = require_tool("age")
        sealed = self.tmp.parent / f"{clip_id}.age"
        self.cli("clips", "export-age", clip_id, "-o", str(sealed))
        identity = self.tmp.parent / "owner.key"
        if not identity.exists():
            owner = keys.unlock(Layout(self.vault), PASSPHRASE)
            identity.write_text(str(owner.identity) + "\n")
            identity.chmod(0o600)
        out = subprocess.run(
            [age_bin, "-d", "-i", str(identity), str(sealed)], check=True, capture_output=True
        ).stdout
        sealed.unlink()
        return out


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    root = tmp_path / "vault"
    Vault.init(root, PASSPHRASE, log_n=10).close()
    s = Site(root, tmp_path / "daemon-tmp")
    yield s
    for p in s.procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def decoded(data: bytes) -> dict[str, Any]:
    """What PyAV finds in *data*: the container, each stream's codec, the
    video frames it decodes and whether the first video packet is a keyframe."""
    av = require_module("av", "pip install 'ringfence[media]'")
    import io

    with av.open(io.BytesIO(data)) as c:
        kinds = sorted(f"{s.type}:{s.codec_context.name}" for s in c.streams)
        first_key = None
        frames = 0
        for packet in c.demux(c.streams.video[0]):
            if first_key is None and packet.size:
                first_key = packet.is_keyframe
            frames += len(packet.decode())  # the last, empty packet flushes the decoder
        return {"format": c.format.name, "streams": kinds, "frames": frames, "key": first_key}


# --- an HTTP MP4 stream ---------------------------------------------------------------


class _StreamServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, body: bytes) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.body = body
        self.ready = threading.Event()  # before it is set, the "camera" answers 503
        self.served = 0
        self.auth: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    server: _StreamServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        given = self.headers.get("Authorization") or ""
        if not given:  # a camera asks for its password; FFmpeg sends it only when asked
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="camera"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.server.auth.append(given)
        if not self.server.ready.is_set():
            self.send_error(503, "camera booting")
            return
        if self.server.served:
            self.send_error(404, "stream over")  # one pass only, then the camera is gone
            return
        self.server.served += 1
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_stream(source: Path) -> Iterator[_StreamServer]:
    server = _StreamServer(source.read_bytes())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_an_http_stream_is_recorded_as_sealed_segments_that_play(
    site: Site, http_stream: _StreamServer, source: Path
) -> None:
    port = http_stream.server_address[1]
    url = f"http://door:{SECRET}@127.0.0.1:{port}/stream.mp4?token={SECRET}x"
    added = site.add_stream("door", "--segment-seconds", "3", url=url)
    assert added.returncode == 0, added.stderr
    assert SECRET not in added.stdout + added.stderr
    assert "http://***:***@127.0.0.1" in added.stdout and "token=…" in added.stdout
    streams = site.vault / "streams.toml"
    assert streams.stat().st_mode & 0o777 == 0o600
    assert SECRET in streams.read_text()  # the URL is kept, where only the owner reads it

    started = time.time()
    daemon = site.start()
    # The camera is not up yet: the recorder says why and tries again.
    status = wait_for(
        lambda: (s := site.stream_status("door")).get("last_error") and s, "a connection error"
    )
    assert status["state"] in ("reconnecting", "connecting") and "5XX" in status["last_error"]
    assert status["url"] == redact(url)
    http_stream.ready.set()
    wait_for(lambda: len(site.clips()) >= SOURCE_SECONDS // 3, "the segments")
    # After its one pass the camera is gone (404): the segments are all there.
    wait_for(lambda: "404" in (site.stream_status("door").get("last_error") or ""), "the 404")
    shown_status = site.cli("status").stdout
    assert "stream door: reconnecting since" in shown_status
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(DEADLINE) == 0

    clips = sorted(site.clips(), key=lambda c: c["captured_at"])
    assert len(clips) == SOURCE_SECONDS // 3
    assert all(c["camera"] == "door" and not c.get("truncated") for c in clips)
    frames = 0
    plain = []
    for c in clips:
        data = site.opened(c["id"])
        plain.append(data)
        found = decoded(data)
        assert found["format"].startswith("mov"), found
        assert found["streams"] == ["audio:aac", "video:h264"]
        assert found["key"] is True  # each segment starts at a keyframe: it plays alone
        frames += found["frames"]
        captured = (
            time.mktime(time.strptime(c["captured_at"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
        )
        assert started - 2 <= captured <= time.time() + 2
    assert frames == SOURCE_SECONDS * FPS  # every frame, none twice, none lost

    # ffmpeg sent the password to the camera (HTTP basic auth) and nowhere else.
    basic = base64.b64encode(f"door:{SECRET}".encode()).decode()
    assert set(http_stream.auth) == {f"Basic {basic}"}
    said = [
        *(p.read_text(errors="replace") for p in site.logs),
        (site.vault / "daemon.json").read_text(),
        (site.vault / "config.toml").read_text(),
        site.cli("audit", "show", "--json").stdout,
        site.cli("camera", "list", "--json").stdout,
        site.cli("status", "--json").stdout,
    ]
    assert not [s for s in said if SECRET in s]
    hits = files_with(site.vault, [SECRET.encode()])
    assert hits == [["streams.toml"]]

    # No plaintext of any segment on disk: not in the vault, not in the daemon's temp folder.
    pieces = [d[i : i + 64] for d in plain for i in (1000, len(d) // 2, len(d) - 200)]
    for root in (site.vault, site.tmp, Path("/dev/shm")):
        assert all(not h for h in files_with(root, pieces)), root


# --- an RTSP stream -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def rtsp_stream(source: Path, tmp_path: Path) -> Iterator[str]:
    """rtsp://127.0.0.1:PORT/cam served by rtsp-server-perl, fed in real time by ffmpeg."""
    server_bin = require_tool("rtsp-server-perl")
    ffmpeg = require_tool("ffmpeg")
    client, feed = _free_port(), _free_port()
    # The server takes its RTP ports from 20000 up whatever it is told (its
    # housekeeping resets them), so two suites on one machine take turns.
    turn = (Path(tempfile.gettempdir()) / "ringfence-tests-rtsp.lock").open("ab")
    fcntl.flock(turn, fcntl.LOCK_EX)
    rtp = 20000
    server = subprocess.Popen(
        [
            server_bin,
            "--clientport", str(client),
            "--serverport", str(feed),
            "--client_listen_address", "127.0.0.1",
            "--source_listen_address", "127.0.0.1",
            "--rtp_start_port", str(rtp),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "rtsp-server.log").open("wb"),
    )  # fmt: skip
    procs = [server]

    def listening() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", feed)) == 0

    try:
        wait_for(lambda: listening() or server.poll() is not None, "the RTSP server")
        assert server.poll() is None, (tmp_path / "rtsp-server.log").read_text()
        feeder = subprocess.Popen(
            [
                ffmpeg, "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", str(source),
                "-c", "copy", "-f", "rtsp", f"rtsp://127.0.0.1:{feed}/cam",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "feeder.log").open("wb"),
        )  # fmt: skip
        procs.append(feeder)
        yield f"rtsp://127.0.0.1:{client}/cam"
    finally:
        for p in reversed(procs):
            p.kill()
            p.wait()
        turn.close()


def test_an_rtsp_stream_killed_daemon_leaves_only_whole_clips(
    site: Site, rtsp_stream: str, tmp_path: Path
) -> None:
    added = site.add_stream("porch", "--segment-seconds", "2", url=rtsp_stream)
    assert added.returncode == 0, added.stderr
    daemon = site.start()
    wait_for(lambda: len(site.clips()) >= 3, "three RTSP segments")
    assert site.stream_status("porch")["state"] == "recording"
    # Killed in the middle of a segment: that segment's blob has no row.
    daemon.send_signal(signal.SIGKILL)
    daemon.wait(DEADLINE)
    before = {c["id"] for c in site.clips()}
    once = site.cli("daemon", "--once")
    assert once.returncode == 0
    after = site.clips()
    assert {c["id"] for c in after} == before
    store = site.vault / "store"
    blobs = {p.name for p in store.rglob("clp_*") if p.is_file()}
    assert blobs == before  # the killed segment left nothing behind
    for c in after:
        found = decoded(site.opened(c["id"]))
        assert found["streams"] == ["audio:aac", "video:h264"] and found["key"] is True
        assert found["frames"] >= FPS  # about two seconds each
        assert not c.get("truncated")
    assert site.cli("clips", "verify").returncode == 0


# --- the command and the file ---------------------------------------------------------


def test_camera_add_stream_refuses_what_it_cannot_record(site: Site) -> None:
    for args, url, why in [
        (["cam"], "ftp://127.0.0.1/x", "must start with"),
        (["cam"], "rtsp:///nohost", "names no host"),
        (["cam"], "rtsp://127.0.0.1:99999/x", "not a URL"),
        (["cam"], "rtsp://127.0.0.1/a b", "spaces"),
        (["cam", "--segment-seconds", "0"], "rtsp://127.0.0.1/x", "--segment-seconds"),
    ]:
        got = site.add_stream(*args, url=url)
        assert got.returncode == 2, (args, url, got.stderr)
        assert why in got.stderr and "Traceback" not in got.stderr
    got = site.cli("camera", "add", "cam", "somewhere", "--no-audio", check=False)
    assert got.returncode == 2 and "go with --stream" in got.stderr
    assert not (site.vault / "streams.toml").exists()
    # A URL with its password on the command line works, and the owner is told what it cost.
    got = site.cli("camera", "add", "cam", "--stream", f"rtsp://admin:{SECRET}@127.0.0.1/s")
    assert "shell history" in got.stderr and SECRET not in got.stdout + got.stderr
    listed = json.loads(site.cli("camera", "list", "--json").stdout)
    assert listed[0]["stream"] == "rtsp://***:***@127.0.0.1/s"
    # Again: the stream is replaced, and the log says so (redacted).
    site.cli("camera", "add", "cam", "--stream", "rtsp://127.0.0.1/other", "--no-audio")
    entries = json.loads(site.cli("audit", "show", "--json").stdout)
    sets = [e["details"] for e in entries if e["type"] == "camera.stream"]
    assert [s["replaced"] for s in sets] == [False, True]
    assert sets[1] == {
        "url": "rtsp://127.0.0.1/other",
        "segment_seconds": 60,
        "audio": False,
        "replaced": True,
    }
    assert load_streams(site.vault / "streams.toml")["cam"].audio is False


def test_a_bad_streams_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "streams.toml"
    for text, why in [
        ("[cam]\nurl = 3\n", "needs url"),
        ('[cam]\nurl = "rtsp://h/x"\nsegment_seconds = "60"\n', "segment-seconds"),
        ('[cam]\nurl = "rtsp://h/x"\nextra = 1\n', "unknown setting"),
        ('["../x"]\nurl = "rtsp://h/x"\n', "not a camera's stream"),
        ("[cam\n", "not valid TOML"),
    ]:
        path.write_text(text)
        with pytest.raises(VaultError, match=why):
            load_streams(path)
    path.write_bytes(b"#" * (2 << 20))
    with pytest.raises(VaultError):
        load_streams(path)


def test_urls_are_shown_without_their_secrets() -> None:
    assert redact("rtsp://admin:hunter2@192.0.2.7:554/Streaming/101") == (
        "rtsp://***:***@192.0.2.7:554/Streaming/101"
    )
    assert redact("http://cam.local/stream.mp4?user=a&pwd=b&x") == (
        "http://cam.local/stream.mp4?user=…&pwd=…&x"
    )
    assert redact("rtsp://[::1]:8554/a") == "rtsp://[::1]:8554/a"
    assert redact("rtsp://onlyuser@h/a") == "rtsp://***@h/a"
    url = "rtsp://admin:hunter2@192.0.2.7/s"
    message = f"Server returned 401 Unauthorized: '{url}' (admin hunter2)"
    assert "hunter2" not in redact_text(message, url) and "admin" not in redact_text(message, url)
    assert check_url("rtsps://h/x") == "rtsps://h/x"
