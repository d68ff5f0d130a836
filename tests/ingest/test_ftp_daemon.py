"""The FTP/FTPS receiver run by a real daemon process: logins made by the CLI,
real ftplib clients on loopback, real MP4 clips, the stock age binary, SIGKILL."""

from __future__ import annotations

import ftplib
import io
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from demo.synth import clip_bytes
from tests.tools import PASSPHRASE, cli_env, require_tool, run_cli
from vault import keys
from vault.config import Layout
from vault.service import Vault

DEADLINE = 90.0


def wait_for(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + DEADLINE
    while True:
        got = condition()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Site:
    vault: Path
    tmp: Path  # the daemon's TMPDIR
    log: Any = None
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_cli(self.vault, *args, check=check)

    def add_ftp_camera(self, name: str) -> str:
        out = json.loads(self.cli("camera", "add", name, "--ftp", "--json").stdout)
        assert out["ftp"]["user"] == name
        return str(out["ftp"]["password"])

    def start(self, *extra: str) -> subprocess.Popen[bytes]:
        state = self.vault / "daemon.json"
        if state.exists():
            state.unlink()
        self.tmp.mkdir(exist_ok=True)
        # Its log goes to a file: a pipe nobody reads would block the daemon.
        self.log = (self.tmp.parent / f"daemon-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "vault", "daemon", *extra],
            env=cli_env(self.vault, RINGFENCE_LOG="INFO", TMPDIR=str(self.tmp)),
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        self.procs.append(proc)
        wait_for(lambda: state.exists() or proc.poll() is not None, "the daemon to start")
        assert proc.poll() is None, Path(self.log.name).read_text()
        return proc

    def ftp_address(self) -> tuple[str, int]:
        beat = json.loads((self.vault / "daemon.json").read_text())
        host, _, port = beat["receivers"]["ftp"]["listening"].rpartition(":")
        return host, int(port)

    def clips(self) -> list[dict[str, Any]]:
        return json.loads(self.cli("clips", "list", "--json").stdout)  # type: ignore[no-any-return]

    def opened(self, clip_id: str, tmp: Path) -> bytes:
        """The clip as the stock age tool decrypts it, with the owner's identity."""
        age_bin = require_tool("age")
        sealed = tmp / f"{clip_id}.age"
        self.cli("clips", "export-age", clip_id, "-o", str(sealed))
        identity = tmp / "owner.key"
        if not identity.exists():
            owner = keys.unlock(Layout(self.vault), PASSPHRASE)
            identity.write_text(str(owner.identity) + "\n")
            identity.chmod(0o600)
        return subprocess.run(
            [age_bin, "-d", "-i", str(identity), str(sealed)], check=True, capture_output=True
        ).stdout


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


def connect(address: tuple[str, int], cls: type[ftplib.FTP] = ftplib.FTP, **kw: Any) -> ftplib.FTP:
    ftp = cls(timeout=DEADLINE, **kw)
    ftp.connect(*address)
    return ftp


def plaintext_anywhere(root: Path, needle: bytes) -> list[Path]:
    """Every file under *root* holding *needle* (a run of the clip's bytes)."""
    found = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            try:
                if needle in path.read_bytes():
                    found.append(path)
            except OSError:
                continue
    return found


def test_camera_add_ftp_prints_the_password_once_and_stores_only_a_verifier(site: Site) -> None:
    password = site.add_ftp_camera("front")
    accounts = site.vault / "ftp-accounts.json"
    assert password.encode() not in accounts.read_bytes()
    assert accounts.stat().st_mode & 0o777 == 0o600
    cams = json.loads(site.cli("camera", "list", "--json").stdout)
    assert [(c["name"], c["folders"], c["ftp"]) for c in cams] == [("front", [], "front")]
    # A second --ftp for the same camera does not silently replace its password.
    again = site.cli("camera", "add", "front", "--ftp", check=False)
    assert again.returncode == 2 and "ftp-password" in again.stderr
    new = json.loads(site.cli("camera", "ftp-password", "front", "--json").stdout)
    assert new["ftp"]["user"] == "front" and new["ftp"]["password"] != password
    missing = site.cli("camera", "ftp-password", "nobody", check=False)
    assert missing.returncode != 0 and "nobody" in missing.stderr
    text = site.cli("camera", "list").stdout
    assert "ftp:front" in text
    log = site.cli("audit", "show", "--json").stdout
    assert "camera.ftp_login" in log
    assert password not in log and new["ftp"]["password"] not in log


def test_uploads_become_clips_like_drop_folder_clips(site: Site, tmp_path: Path) -> None:
    password = site.add_ftp_camera("front")
    daemon = site.start("--ftp-listen", "127.0.0.1:0")
    address = site.ftp_address()
    clip = clip_bytes(seconds=2.0, width=320, height=240, label="ftp")
    ftp = connect(address)
    ftp.login("front", password)
    ftp.mkd("2026-12-02")
    ftp.cwd("2026-12-02")
    reply = ftp.storbinary("STOR ../../front_door.mp4", io.BytesIO(clip))
    assert reply.startswith("226")
    # Nothing can be read back, appended to or resumed.
    assert ftp.nlst() == []
    with pytest.raises(ftplib.error_perm, match="550"):
        ftp.retrbinary("RETR front_door.mp4", lambda b: None)
    with pytest.raises(ftplib.error_perm, match="550"):
        ftp.storbinary("APPE front_door.mp4", io.BytesIO(b"more"))
    ftp.quit()
    (row,) = wait_for(site.clips, "the uploaded clip in the catalog")
    assert row["camera"] == "front" and row["original_name"] == "front_door.mp4"
    assert row["truncated"] is False and row["size"] == len(clip)
    assert row["media"]["container"] == "mp4" and row["media"]["width"] == 320
    assert row["media"]["codec"] == "h264" and row["media"]["duration_s"] == pytest.approx(2.0, 0.2)
    assert site.opened(row["id"], tmp_path) == clip
    # The plaintext exists nowhere on disk: not in the vault, not in the temp folders.
    needle = clip[len(clip) // 2 : len(clip) // 2 + 4096]
    assert plaintext_anywhere(site.vault, needle) == []
    assert plaintext_anywhere(site.tmp, needle) == []
    assert plaintext_anywhere(Path("/dev/shm"), needle) == []
    # Logged like a drop-folder clip, and status shows the receiver.
    st = json.loads(site.cli("status", "--json").stdout)
    ftp_status = st["receivers"]["ftp"]
    assert ftp_status["listening"] == f"{address[0]}:{address[1]}"
    assert ftp_status["uploads"] == 1 and ftp_status["tls"] is None
    assert st["cameras"][0]["ftp"] is True and st["truncated"] == 0
    check = json.loads(site.cli("clips", "verify", "--json").stdout)
    assert check["ok"] and check["checked"] == 1
    # The same bytes again are the same clip.
    ftp = connect(address)
    ftp.login("front", password)
    ftp.storbinary("STOR again.mp4", io.BytesIO(clip))
    ftp.quit()
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=DEADLINE) == 0
    assert len(site.clips()) == 1


def test_logins_each_camera_alone_new_and_replaced_passwords(site: Site) -> None:
    front = site.add_ftp_camera("front")
    site.start("--ftp-listen", "127.0.0.1:0")
    address = site.ftp_address()
    with pytest.raises(ftplib.error_perm, match="530"):
        connect(address).login("front", front + "x")
    # A camera added while the daemon runs logs in at once.
    back = site.add_ftp_camera("back")
    for name, password in (("front", front), ("back", back)):
        ftp = connect(address)
        ftp.login(name, password)
        ftp.storbinary(f"STOR {name}.mp4", io.BytesIO(name.encode() * 1000))
        ftp.quit()
    rows = wait_for(lambda: len(site.clips()) == 2 and site.clips(), "both clips")
    assert {(r["camera"], r["original_name"]) for r in rows} == {
        ("front", "front.mp4"),
        ("back", "back.mp4"),
    }
    # A replaced password stops working at once; the new one works.
    new = json.loads(site.cli("camera", "ftp-password", "back", "--json").stdout)["ftp"]
    with pytest.raises(ftplib.error_perm, match="530"):
        connect(address).login("back", back)
    connect(address).login("back", new["password"])


def test_ftps_with_the_certificate_made_on_first_use(site: Site, tmp_path: Path) -> None:
    password = site.add_ftp_camera("front")
    config = site.vault / "config.toml"
    config.write_text(config.read_text() + '\n[ftp]\nlisten = "127.0.0.1:0"\ntls = true\n')
    site.start()
    address = site.ftp_address()
    # Plain logins are refused when TLS is on.
    with pytest.raises(ftplib.error_perm):
        connect(address).login("front", password)
    ctx = ssl.create_default_context(cafile=str(site.vault / "ftps" / "ftps-cert.pem"))
    ctx.check_hostname = False
    ftps = connect(address, ftplib.FTP_TLS, context=ctx)
    ftps.login("front", password)
    ftps.prot_p()
    clip = clip_bytes(seconds=1.0, label="tls")
    assert ftps.storbinary("STOR tls.mp4", io.BytesIO(clip)).startswith("226")
    ftps.quit()
    (row,) = wait_for(site.clips, "the FTPS clip")
    assert site.opened(row["id"], tmp_path) == clip
    st = json.loads(site.cli("status", "--json").stdout)
    assert st["receivers"]["ftp"]["tls"].startswith("SHA256:")
    assert "FTPS certificate SHA256:" in site.cli("status").stdout


CUT_SHORT_CLIENT = textwrap.dedent("""
    import ftplib, sys, time
    host, port, password, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    data = open(path, "rb").read()
    ftp = ftplib.FTP(timeout=60)
    ftp.connect(host, port)
    ftp.login("front", password)
    conn = ftp.transfercmd("STOR cut.mp4")
    conn.sendall(data[: len(data) // 2])
    print("sent", flush=True)
    time.sleep(600)
""")


def test_a_camera_killed_mid_upload_leaves_a_clip_flagged_truncated(
    site: Site, tmp_path: Path
) -> None:
    password = site.add_ftp_camera("front")
    site.start("--ftp-listen", "127.0.0.1:0")
    host, port = site.ftp_address()
    clip = clip_bytes(seconds=3.0, label="cut")
    source = tmp_path / "clip.mp4"
    source.write_bytes(clip)
    client = subprocess.Popen(
        [sys.executable, "-c", CUT_SHORT_CLIENT, host, str(port), password, str(source)],
        stdout=subprocess.PIPE,
    )
    try:
        assert client.stdout is not None and client.stdout.readline() == b"sent\n"
        client.send_signal(signal.SIGKILL)
    finally:
        client.wait()
    (row,) = wait_for(site.clips, "the cut-short clip")
    assert row["truncated"] is True and row["size"] == len(clip) // 2
    assert site.opened(row["id"], tmp_path) == clip[: len(clip) // 2]
    shown = json.loads(site.cli("clips", "show", row["id"], "--json").stdout)
    assert shown["truncated"] is True
    assert "TRUNCATED" in site.cli("clips", "show", row["id"]).stdout
    assert "[truncated]" in site.cli("clips", "list").stdout
    st = json.loads(site.cli("status", "--json").stdout)
    assert st["truncated"] == 1 and st["cameras"][0]["truncated"] == 1
    assert _types(site.vault).count("clip.truncated") == 1
    assert _types(site.vault).count("clip.sealed") == 1


def _types(root: Path) -> list[str]:
    v = Vault.open(root)
    try:
        return [entry["type"] for _index, entry in v.audit.entries(0)]
    finally:
        v.close()


SLOW_CLIENT = textwrap.dedent("""
    import ftplib, sys, time
    host, port, password, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    data = open(path, "rb").read()
    ftp = ftplib.FTP(timeout=60)
    ftp.connect(host, port)
    ftp.login("front", password)
    conn = ftp.transfercmd("STOR slow.mp4")
    conn.sendall(data[: len(data) // 2])
    print("sent", flush=True)
    sys.stdin.readline()
""")


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_the_daemon_stopped_mid_upload_keeps_nothing_of_it(
    site: Site, tmp_path: Path, how: str
) -> None:
    password = site.add_ftp_camera("front")
    daemon = site.start("--ftp-listen", "127.0.0.1:0")
    host, port = site.ftp_address()
    done = clip_bytes(seconds=1.0, label="done")
    ftp = connect((host, port))
    ftp.login("front", password)
    ftp.storbinary("STOR done.mp4", io.BytesIO(done))
    ftp.quit()
    wait_for(site.clips, "the finished clip")
    clip = os.urandom(4 << 20)  # far beyond any write buffer: half of it reaches the disk
    source = tmp_path / "clip.mp4"
    source.write_bytes(clip)
    client = subprocess.Popen(
        [sys.executable, "-c", SLOW_CLIENT, host, str(port), password, str(source)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert client.stdout is not None and client.stdout.readline() == b"sent\n"
        # Wait until the bytes reached the store's temp file (sealed, never plaintext).
        tmp_dir = site.vault / "store" / "tmp"
        wait_for(
            lambda: any(p.stat().st_size > 0 for p in tmp_dir.iterdir()),
            "the upload to reach the store",
        )
        daemon.send_signal(getattr(signal, how))
        code = daemon.wait(timeout=DEADLINE)
        assert code == (0 if how == "SIGTERM" else -signal.SIGKILL)
    finally:
        client.kill()
        client.wait()
    needle = clip[len(clip) // 4 : len(clip) // 4 + 4096]
    assert plaintext_anywhere(site.vault, needle) == []
    site.start()  # recovery runs; no receiver configured this time
    rows = site.clips()
    assert [r["original_name"] for r in rows] == ["done.mp4"]
    assert site.opened(rows[0]["id"], tmp_path) == done
    assert list((site.vault / "store" / "tmp").iterdir()) == []
    assert not list((site.vault / "store" / "intent").glob("*"))
    assert json.loads(site.cli("clips", "verify", "--json").stdout)["ok"]


def test_a_hostile_peer_gets_refusals_and_stalls_no_one(site: Site) -> None:
    password = site.add_ftp_camera("front")
    site.start("--ftp-listen", "127.0.0.1:0")
    address = site.ftp_address()
    # A huge command line is refused and the peer cut off, not buffered without end.
    raw = socket.create_connection(address, timeout=DEADLINE)
    assert raw.recv(1024).startswith(b"220")
    try:
        for _ in range(64):
            raw.sendall(b"USER " + b"A" * 1_000_000)
        reply = raw.recv(4096)
    except OSError:
        reply = b"500"  # cut off while still sending
    raw.close()
    assert reply.startswith(b"500")
    assert Path(site.log.name).read_bytes().count(b"Command too long") <= 1
    # Slowloris: connections that send a byte now and then, and a flood of
    # wrong passwords, while a camera uploads.
    slow = [socket.create_connection(address, timeout=DEADLINE) for _ in range(4)]
    for s in slow:
        s.sendall(b"US")
    floods = [connect(address) for _ in range(3)]
    for f in floods:
        with pytest.raises(ftplib.error_perm):
            f.login("front", "guess")
    ftp = connect(address)
    ftp.login("front", password)
    # Path traversal and odd names: only a plain base name is ever kept.
    ftp.storbinary("STOR ../../../../etc/evil.mp4", io.BytesIO(b"x" * 10_000))
    with pytest.raises(ftplib.error_perm, match="553"):
        ftp.storbinary("STOR bad\x1b[31m.mp4", io.BytesIO(b"y"))
    ftp.quit()
    (row,) = wait_for(site.clips, "the upload")
    assert row["original_name"] == "evil.mp4"
    for s in slow:
        s.close()
    st = json.loads(site.cli("status", "--json").stdout)
    assert st["receivers"]["ftp"]["failed_logins"] >= 3
