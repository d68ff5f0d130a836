"""The FTP/FTPS receiver on loopback: real ftplib clients, a real store, the stock age binary."""

from __future__ import annotations

import ftplib
import hashlib
import io
import logging
import os
import secrets
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.crypto.conftest import require_tool
from vault import age
from vault.errors import AgeError, StorageError
from vault.ingest.ftp import (
    ClipUpload,
    FtpEvent,
    FtpReceiver,
    FtpSettings,
    SealedUpload,
    StoreSink,
    safe_filename,
)
from vault.ingest.ftp_accounts import AccountBook, LoginThrottle
from vault.ingest.ftp_tls import ensure_identity
from vault.store import BlobStore

DEADLINE = 60.0


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    tmp: Path
    identity: age.X25519Identity
    store: BlobStore
    password: str
    events: list[FtpEvent] = field(default_factory=list)
    clock: FakeClock = field(default_factory=FakeClock)
    receivers: list[FtpReceiver] = field(default_factory=list)
    book: AccountBook | None = None

    def serve(self, sink: object | None = None, **settings: object) -> tuple[str, int]:
        assert self.book is not None
        receiver = FtpReceiver(
            self.book,
            sink or StoreSink(self.store, [str(self.identity.recipient)]),  # type: ignore[arg-type]
            FtpSettings(**{"port": 0, "failed_login_delay": 0, **settings}),  # type: ignore[arg-type]
            on_event=self.events.append,
            throttle=LoginThrottle(limit=3, window=60, pause=300, clock=self.clock),
        )
        self.receivers.append(receiver)
        return receiver.start()

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def sealed(self) -> list[SealedUpload]:
        return [e.sealed for e in self.events if e.sealed is not None]

    def opened(self, sealed: SealedUpload) -> bytes:
        with self.store.open(sealed.blob_id) as f:
            payload = f.read()
        assert hashlib.sha256(payload).hexdigest() == sealed.payload_sha256
        return age.decrypt_bytes(sealed.header + payload, [self.identity])


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    book = AccountBook(log_n=10)
    _, password = book.add("front")
    w = World(tmp_path, age.generate_identity(), BlobStore(tmp_path / "store"), password)
    w.book = book
    yield w
    for r in w.receivers:
        r.stop()


def connect(
    address: tuple[str, int], cls: type[ftplib.FTP] = ftplib.FTP, **kw: object
) -> ftplib.FTP:
    ftp = cls(timeout=DEADLINE, **kw)  # type: ignore[arg-type]
    ftp.connect(*address)
    return ftp


def abort(ftp: ftplib.FTP) -> None:
    """ABOR an upload in progress and read both replies (426 for the transfer, then 226)."""
    if ftp.abort().startswith("426"):
        ftp.voidresp()


def test_plain_upload_is_sealed_and_opens_with_age(world: World) -> None:
    binary = require_tool("age")
    address = world.serve()
    data = os.urandom(300_000)
    ftp = connect(address)
    ftp.login("front", world.password)
    reply = ftp.storbinary("STOR clip-0001.mp4", io.BytesIO(data))
    assert reply.startswith("226") and "sealed" in reply
    ftp.quit()
    wait_for(lambda: world.sealed(), "the sealed event")
    (sealed,) = world.sealed()
    assert (sealed.camera, sealed.filename, sealed.size) == ("front", "clip-0001.mp4", len(data))
    assert sealed.sha256 == hashlib.sha256(data).hexdigest()
    assert list(world.store.ids()) == [sealed.blob_id]
    assert world.opened(sealed) == data
    # The stock age binary opens header + payload and gives the uploaded bytes.
    sealed_file = world.tmp / "clip.age"
    sealed_file.write_bytes(sealed.header + world.store.path(sealed.blob_id).read_bytes())
    keys = world.tmp / "keys.txt"
    keys.write_text(f"{world.identity}\n")
    out = subprocess.run([binary, "-d", "-i", str(keys), str(sealed_file)], capture_output=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == data


def test_ascii_type_does_not_alter_the_clip(world: World) -> None:
    address = world.serve()
    data = b"line\r\nline\r\n" + os.urandom(1000)
    ftp = connect(address)
    ftp.login("front", world.password)
    ftp.voidcmd("TYPE A")
    conn = ftp.transfercmd("STOR raw.bin")
    conn.sendall(data)
    conn.close()
    ftp.voidresp()
    wait_for(lambda: world.sealed(), "the sealed event")
    assert world.opened(world.sealed()[0]) == data


def test_tls_upload(world: World) -> None:
    tls = ensure_identity(world.tmp / "tls")
    address = world.serve(tls=tls)
    data = os.urandom(200_000)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ftps = connect(address, ftplib.FTP_TLS, context=ctx)
    assert isinstance(ftps, ftplib.FTP_TLS)
    ftps.login("front", world.password)  # AUTH TLS first
    der = ftps.sock.getpeercert(binary_form=True)  # type: ignore[union-attr]
    digest = hashlib.sha256(der).hexdigest().upper()
    assert tls.fingerprint == "SHA256:" + ":".join(digest[i : i + 2] for i in range(0, 64, 2))
    ftps.prot_p()
    assert ftps.storbinary("STOR tls.mp4", io.BytesIO(data)).startswith("226")
    ftps.quit()
    wait_for(lambda: world.sealed(), "the sealed event")
    assert world.opened(world.sealed()[0]) == data


def test_tls_required_refuses_plain_logins_and_plain_data(world: World) -> None:
    address = world.serve(tls=ensure_identity(world.tmp / "tls"))
    ftp = connect(address)
    with pytest.raises(ftplib.error_perm, match="550 SSL/TLS required"):
        ftp.login("front", world.password)
    ftp.close()
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ftps = connect(address, ftplib.FTP_TLS, context=ctx)
    ftps.login("front", world.password)
    with pytest.raises(ftplib.error_perm, match="550 SSL/TLS required"):
        ftps.storbinary("STOR clear.mp4", io.BytesIO(b"x"))  # PROT P not given
    ftps.close()
    assert world.sealed() == []


def test_wrong_password(world: World) -> None:
    address = world.serve()
    ftp = connect(address)
    with pytest.raises(ftplib.error_perm, match="530"):
        ftp.login("front", "not-the-password")
    ftp.close()
    with pytest.raises(ftplib.error_perm, match="530"):
        ftp2 = connect(address)
        ftp2.login("back", world.password)  # no such login: the same answer
    wait_for(lambda: world.kinds().count("login.failed") == 2, "two failed logins")
    assert [e.login for e in world.events] == ["front", "back"]


def test_failed_logins_are_rate_limited_per_address(world: World) -> None:
    address = world.serve()
    for _ in range(3):
        ftp = connect(address)
        with pytest.raises(ftplib.error_perm, match="530"):
            ftp.login("front", "guess")
        ftp.close()
    wait_for(lambda: "login.blocked" in world.kinds(), "the block")
    ftp = connect(address)
    with pytest.raises(ftplib.error_perm, match="Too many failed logins"):
        ftp.login("front", world.password)  # even the right password waits
    ftp.close()
    world.clock.now += 301
    ftp = connect(address)
    assert ftp.login("front", world.password).startswith("230")
    ftp.quit()


def test_downloads_appends_resumes_and_changes_are_refused(world: World) -> None:
    address = world.serve()
    ftp = connect(address)
    ftp.login("front", world.password)
    ftp.storbinary("STOR clip.mp4", io.BytesIO(b"clip bytes"))
    with pytest.raises(ftplib.error_perm, match="550 Downloads are refused"):
        ftp.retrbinary("RETR clip.mp4", lambda b: None)
    with pytest.raises(ftplib.error_perm, match="550 Appending is refused"):
        ftp.storbinary("APPE clip.mp4", io.BytesIO(b"more"))
    with pytest.raises(ftplib.error_perm, match="502 Resuming is refused"):
        ftp.sendcmd("REST 5")
    with pytest.raises(ftplib.error_perm, match="502 Resuming is refused"):
        ftp.storbinary("STOR clip.mp4", io.BytesIO(b"x"), rest=5)
    with pytest.raises(ftplib.error_perm, match="550 STOU is refused"):
        ftp.sendcmd("STOU")
    for cmd in (
        "DELE clip.mp4",
        "RNFR clip.mp4",
        "RNTO other.mp4",
        "RMD /",
        "SITE CHMOD 777 clip.mp4",
    ):
        with pytest.raises(ftplib.error_perm, match="550"):
            ftp.sendcmd(cmd)
    with pytest.raises(ftplib.error_perm, match="550 No such file"):
        ftp.size("clip.mp4")
    with pytest.raises(ftplib.error_perm, match="550 No such file"):
        ftp.sendcmd("MDTM clip.mp4")
    # The listing shows nothing, here or in any folder; folders are virtual.
    assert ftp.nlst() == []
    lines: list[str] = []
    ftp.retrlines("LIST", lines.append)
    assert lines == []
    ftp.mkd("2026-12-02")
    ftp.cwd("2026-12-02")
    assert ftp.pwd() == "/2026-12-02"
    assert ftp.nlst() == []
    features = ftp.sendcmd("FEAT")
    assert "REST" not in features and "SIZE" not in features and "MDTM" not in features
    ftp.quit()
    assert len(world.sealed()) == 1  # only the one upload, untouched
    assert not any(p.is_file() for p in (world.tmp / "2026-12-02", world.tmp / "clip.mp4"))


def _nothing_left(world: World) -> None:
    assert list(world.store.ids()) == []
    assert list(world.store.tmp_dir.iterdir()) == []


def test_aborted_upload_leaves_nothing(world: World) -> None:
    address = world.serve()
    ftp = connect(address)
    ftp.login("front", world.password)
    conn = ftp.transfercmd("STOR aborted.mp4")
    conn.sendall(os.urandom(2_000_000))
    abort(ftp)
    conn.close()
    wait_for(lambda: "upload.incomplete" in world.kinds(), "the incomplete upload")
    ftp.quit()
    assert world.sealed() == []
    assert [e.filename for e in world.events] == ["aborted.mp4"]
    _nothing_left(world)


def test_an_upload_whose_connection_drops_is_kept_as_cut_short(world: World) -> None:
    """The camera lost midway (its control connection gone, the data never
    finished): what arrived is kept, reported as cut short, never as whole."""
    address = world.serve()
    ftp = connect(address)
    ftp.login("front", world.password)
    conn = ftp.transfercmd("STOR dropped.mp4")
    sent = os.urandom(500_000)
    conn.sendall(sent)
    ftp.sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]
    ftp.close()
    wait_for(lambda: "upload.cut_short" in world.kinds(), "the cut-short upload")
    conn.close()
    (event,) = [e for e in world.events if e.kind == "upload.cut_short"]
    assert event.sealed is not None and event.size == len(sent)
    assert world.opened(event.sealed) == sent
    # Nothing arrived at all: nothing is kept.
    ftp = connect(address)
    ftp.login("front", world.password)
    conn = ftp.transfercmd("STOR nothing.mp4")
    ftp.sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]
    ftp.close()
    wait_for(lambda: "upload.incomplete" in world.kinds(), "the empty drop")
    conn.close()
    assert len(world.sealed()) == 1


def test_oversize_upload_is_cut_off(world: World) -> None:
    address = world.serve(max_upload=100_000)
    ftp = connect(address)
    ftp.login("front", world.password)
    with pytest.raises((ftplib.error_perm, OSError)):
        ftp.storbinary("STOR huge.mp4", io.BytesIO(os.urandom(3_000_000)))
    wait_for(lambda: "upload.oversize" in world.kinds(), "the oversize report")
    (event,) = [e for e in world.events if e.kind == "upload.oversize"]
    assert event.filename == "huge.mp4" and event.size <= 100_000
    ftp.close()
    _nothing_left(world)
    # The limit is exact: an upload of the limit itself is sealed.
    ftp = connect(address)
    ftp.login("front", world.password)
    ftp.storbinary("STOR fits.mp4", io.BytesIO(os.urandom(100_000)))
    ftp.quit()
    wait_for(lambda: world.sealed(), "the sealed upload")


class RefusingSink:
    """A sink whose commit fails, as a full catalog or disk would."""

    def __init__(self, inner: StoreSink) -> None:
        self.inner = inner

    def begin(self, camera: str, filename: str) -> ClipUpload:
        upload = self.inner.begin(camera, filename)

        class Refusing:
            def write(self, data: bytes) -> None:
                upload.write(data)

            def commit(self) -> SealedUpload:
                upload.abort()
                raise StorageError("cannot record the clip: the disk is full")

            def abort(self) -> None:
                upload.abort()

        return Refusing()


def test_a_refused_commit_is_reported_to_the_camera(world: World) -> None:
    address = world.serve(RefusingSink(StoreSink(world.store, [str(world.identity.recipient)])))
    ftp = connect(address)
    ftp.login("front", world.password)
    with pytest.raises(ftplib.error_temp, match="451"):
        ftp.storbinary("STOR clip.mp4", io.BytesIO(b"clip"))
    ftp.quit()
    (event,) = [e for e in world.events if e.kind == "upload.failed"]
    assert "disk is full" in event.detail
    _nothing_left(world)


def test_file_names(world: World) -> None:
    address = world.serve()
    ftp = connect(address)
    ftp.login("front", world.password)
    with pytest.raises(ftplib.error_perm, match="553"):
        ftp.storbinary("STOR bad\x07name.mp4", io.BytesIO(b"x"))
    ftp.storbinary("STOR ../../etc/passwd", io.BytesIO(b"x"))
    ftp.quit()
    assert [s.filename for s in world.sealed()] == ["passwd"]  # a base name, nothing else
    assert safe_filename("/a/b/c.mp4") == "c.mp4"
    for bad in ("", "/", "..", "a\u202eb", "x" * 256, "a\\b"):
        assert safe_filename(bad) is None


def _files_with(marker: bytes, roots: list[Path]) -> list[Path]:
    """Every regular file under *roots* whose bytes contain *marker*."""
    found: list[Path] = []
    seen: set[Path] = set()
    for root in roots:
        for folder, _, names in os.walk(root):
            for name in names:
                path = Path(folder) / name
                if path in seen:
                    continue
                seen.add(path)
                try:
                    if not path.is_file() or path.is_symlink() or path.stat().st_size > 256 << 20:
                        continue
                    tail = b""
                    with open(path, "rb") as f:
                        while block := f.read(1 << 20):
                            if marker in tail + block:
                                found.append(path)
                                break
                            tail = block[-len(marker) :]
                except OSError:
                    continue
    return found


def test_no_plaintext_anywhere(world: World) -> None:
    address = world.serve(max_upload=1_000_000)
    marker = b"RINGFENCE-PLAINTEXT-" + secrets.token_hex(16).encode()
    data = (marker + os.urandom(5000)) * 60
    ftp = connect(address)
    ftp.login("front", world.password)
    ftp.storbinary("STOR marked.mp4", io.BytesIO(data))
    conn = ftp.transfercmd("STOR aborted.mp4")
    conn.sendall(data[:200_000])
    abort(ftp)
    conn.close()
    with pytest.raises((ftplib.error_perm, OSError)):
        ftp.storbinary("STOR oversize.mp4", io.BytesIO(data * 4))
    ftp.close()
    wait_for(
        lambda: {"upload.sealed", "upload.incomplete", "upload.oversize"} <= set(world.kinds()),
        "all three uploads",
    )
    assert world.opened(world.sealed()[0]) == data
    assert _files_with(marker, [world.tmp, Path(tempfile.gettempdir())]) == []


def test_each_camera_uploads_as_itself(world: World) -> None:
    assert world.book is not None
    _, back_password = world.book.add("back")
    address = world.serve()
    front, back = connect(address), connect(address)
    front.login("front", world.password)
    back.login("back", back_password)
    with pytest.raises(ftplib.error_perm, match="530"):
        connect(address).login("back", world.password)  # one camera's password is not another's
    c1, c2 = front.transfercmd("STOR f.mp4"), back.transfercmd("STOR b.mp4")
    c1.sendall(b"front " * 1000)
    c2.sendall(b"back " * 1000)
    c1.sendall(b"end")
    c1.close()
    c2.close()
    front.voidresp()
    back.voidresp()
    assert front.nlst() == back.nlst() == []
    front.quit()
    back.quit()
    wait_for(lambda: len(world.sealed()) == 2, "both uploads")
    by_camera = {s.camera: s for s in world.sealed()}
    assert world.opened(by_camera["front"]) == b"front " * 1000 + b"end"
    assert world.opened(by_camera["back"]) == b"back " * 1000
    assert all(world.password not in repr(e) and back_password not in repr(e) for e in world.events)


def test_empty_upload_is_a_clip(world: World) -> None:
    address = world.serve()
    ftp = connect(address)
    ftp.login("front", world.password)
    ftp.storbinary("STOR empty.mp4", io.BytesIO(b""))
    ftp.quit()
    wait_for(lambda: world.sealed(), "the sealed event")
    assert world.opened(world.sealed()[0]) == b""


def test_stopping_the_receiver_aborts_uploads_in_progress(world: World) -> None:
    address = world.serve()
    ftp = connect(address)
    ftp.login("front", world.password)
    conn = ftp.transfercmd("STOR half.mp4")
    conn.sendall(os.urandom(300_000))
    world.receivers[0].stop()
    wait_for(lambda: "upload.incomplete" in world.kinds(), "the aborted upload")
    conn.close()
    ftp.close()
    _nothing_left(world)


def test_store_sink_intent_notes(world: World) -> None:
    sink = StoreSink(world.store, [str(world.identity.recipient)], intent=lambda blob: b"{}")
    upload = sink.begin("front", "a.mp4")
    upload.write(b"abc")
    upload.abort()
    upload.abort()  # twice is harmless
    assert world.store.intents() == {}
    _nothing_left(world)
    upload = sink.begin("front", "b.mp4")
    upload.write(b"abc")
    sealed = upload.commit()
    assert world.store.intents() == {sealed.blob_id: b"{}"}  # until the catalog row is in
    assert world.opened(sealed) == b"abc"
    with pytest.raises(AgeError, match="closed"):  # one commit per upload
        upload.commit()


def test_what_a_peer_sends_reaches_the_logs_escaped(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # The receiver's library logs the user name and paths a peer sends; a
    # terminal escape in them must not reach the daemon's log as it is.
    caplog.set_level(logging.DEBUG)
    address = world.serve()
    ftp = connect(address)
    with pytest.raises(ftplib.error_perm, match="530"):
        ftp.login("front\x1b[2J\x1b]0;owned\x07", "not-the-password")
    ftp.close()
    wait_for(lambda: world.kinds().count("login.failed") == 1, "the failed login")
    wait_for(
        lambda: any(
            "front" in r.getMessage() for r in caplog.records if r.name.startswith("pyftpdlib")
        ),
        "the library's log line",
    )
    lines = [r.getMessage() for r in caplog.records]
    assert not any("\x1b" in line or "\x07" in line for line in lines), lines
