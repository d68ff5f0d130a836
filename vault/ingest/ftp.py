"""The FTP/FTPS receiver: cameras upload clips that are sealed as the bytes arrive.

Each upload streams from the data connection straight into the push-mode age
writer (:func:`vault.age.seal_writer`) through a :class:`ClipSink`; no
plaintext file is created anywhere, not in the vault and not in a temp
folder. The receiver is upload-only: a login (one per camera, see
:mod:`vault.ingest.ftp_accounts`) sees one empty virtual folder, and every
command that would read, resume, append to, rename or delete a file is
refused with a reply that says so. Failed logins are rate-limited per address;
an upload above the size limit is cut off; an upload that does not finish
leaves nothing behind. Each outcome is reported as an :class:`FtpEvent`.

FTPS is explicit TLS (``AUTH TLS``, RFC 4217) with the certificate from
:mod:`vault.ingest.ftp_tls`; with TLS configured, plain logins and plain data
connections are refused unless ``require_tls=False``.

FTP's stream mode cannot tell a finished upload from a client that closed
its data connection early: both end the same way. An upload cut short (the
data connection closed early, reset, or the control connection lost midway)
keeps the bytes that arrived: it is committed and the sink's media check
flags it as cut short (a sink that records clips marks it truncated). Only
``ABOR`` (the camera cancelled), the size limit and the receiver stopping
discard an upload.

The server runs in its own thread (:meth:`FtpReceiver.start`). Slow work
runs off it so that one camera never stalls another: each password check
(scrypt) in a small pool, each commit (fsync, the catalog) in a commit
thread; the reply (230/530, 226/451) is sent when it is done. Each upload
is sealed in a thread of its own (:mod:`vault.ingest.background`), so
receiving and sealing use two cores; event callbacks run in the server
thread, one at a time.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import posixpath
import queue
import socket
import threading
import unicodedata
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from OpenSSL import SSL
from pyftpdlib.authorizers import AuthenticationFailed
from pyftpdlib.filesystems import AbstractedFS, FilesystemError
from pyftpdlib.handlers import DTPHandler, FTPHandler, TLS_DTPHandler, TLS_FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import FTPServer

from vault.errors import RingfenceError, StorageError, UsageError
from vault.ingest.background import BackgroundUpload
from vault.ingest.ftp_accounts import Accounts, FtpAccount, LoginThrottle
from vault.ingest.ftp_sink import ClipSink, ClipUpload, SealedUpload, StoreSink
from vault.ingest.ftp_tls import TlsIdentity
from vault.safetext import shown

__all__ = [
    "ClipSink",
    "ClipUpload",
    "FtpEvent",
    "FtpReceiver",
    "FtpSettings",
    "SealedUpload",
    "StoreSink",
    "safe_filename",
]

log = logging.getLogger("ringfence.ftp")

#: Default upload limit: 4 GiB, far above any motion clip.
DEFAULT_MAX_UPLOAD = 4 << 30
MAX_FILENAME = 255
#: The longest command line accepted (pyftpdlib's own limit).
MAX_COMMAND_LINE = 2048


# -- what the receiver reports ----------------------------------------------------


@dataclass(frozen=True)
class FtpEvent:
    """Something the owner may want to know: a sealed clip, a refused login, a cut-off upload.

    kind is one of ``login.failed``, ``login.blocked`` (the address is paused),
    ``upload.sealed`` (``sealed`` is set), ``upload.cut_short`` (the
    connection was lost midway; what arrived was kept, ``sealed`` is set and
    ``detail`` says how it ended), ``upload.incomplete`` (the client aborted,
    or the receiver stopped: nothing kept), ``upload.oversize`` (cut off at
    the limit), ``upload.failed`` (the sink refused it; ``detail`` says why).
    ``login``, ``filename`` and ``detail`` may come from the network: render
    them with :func:`vault.safetext` helpers, never raw.
    """

    kind: str
    address: str
    login: str = ""
    camera: str = ""
    filename: str = ""
    size: int = 0
    detail: str = ""
    sealed: SealedUpload | None = None


# -- configuration -------------------------------------------------------------------


@dataclass(frozen=True)
class FtpSettings:
    host: str = "127.0.0.1"
    port: int = 2121
    max_upload: int = DEFAULT_MAX_UPLOAD
    tls: TlsIdentity | None = None
    require_tls: bool = True
    #: Passive data ports (a range the firewall lets through); None: any free port.
    passive_ports: range | None = None
    #: The address to announce in PASV replies when behind NAT; None: the socket's own.
    masquerade_address: str | None = None
    #: Seconds before a failed login is answered (slows guessing on one connection).
    failed_login_delay: float = 2.0
    max_connections: int = 64
    max_connections_per_address: int = 8
    idle_timeout: int = 120
    banner: str = "ringfence upload-only receiver ready."


# -- the protocol ----------------------------------------------------------------------


def safe_filename(ftp_path: str) -> str | None:
    """The base name of an uploaded path, or None if it is not a plain, printable name."""
    name = posixpath.basename(ftp_path)
    if (
        not name
        or name in (".", "..")
        or len(name.encode("utf-8", "surrogateescape")) > MAX_FILENAME
    ):
        return None
    if any(unicodedata.category(c)[0] == "C" or c == "\\" for c in name):
        return None
    return name


class _VirtualFS(AbstractedFS):
    """One empty folder tree per login that never touches the disk.

    Every folder exists (cameras create date folders before uploading) and is
    empty; no file exists. Paths are only ever strings.
    """

    def validpath(self, path: str) -> bool:
        return True

    def realpath(self, path: str) -> str:
        return path

    def chdir(self, path: str) -> None:
        self.cwd = self.fs2ftp(path)

    def mkdir(self, path: str) -> None:
        return None

    def listdir(self, path: str) -> list[str]:
        return []

    def listdirinfo(self, path: str) -> list[str]:
        return []

    def isdir(self, path: str) -> bool:
        return True

    def isfile(self, path: str) -> bool:
        return False

    def islink(self, path: str) -> bool:
        return False

    def lexists(self, path: str) -> bool:
        return False

    def _none(self, *args: object, **kwargs: object) -> Any:
        raise FilesystemError("No such file")

    open = mkstemp = rmdir = remove = rename = chmod = stat = lstat = utime = _none
    getsize = getmtime = readlink = _none


_REFUSED = {
    "RETR": "550 Downloads are refused: this server only accepts uploads.",
    "APPE": "550 Appending is refused: upload each clip whole with STOR.",
    "REST": "502 Resuming is refused: upload each clip whole with STOR.",
    "STOU": "550 STOU is refused: upload with STOR and a file name.",
    "DELE": "550 Deleting is refused: uploads are sealed and cannot be changed.",
    "RMD": "550 Deleting is refused: uploads are sealed and cannot be changed.",
    "XRMD": "550 Deleting is refused: uploads are sealed and cannot be changed.",
    "RNFR": "550 Renaming is refused: uploads are sealed and cannot be changed.",
    "RNTO": "550 Renaming is refused: uploads are sealed and cannot be changed.",
    "SITE CHMOD": "550 Changing modes is refused: uploads are sealed and cannot be changed.",
    "MFMT": "550 Changing times is refused: uploads are sealed and cannot be changed.",
    "SIZE": "550 No such file: uploads are not listed.",
    "MDTM": "550 No such file: uploads are not listed.",
}


def _proto_cmds(base: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    cmds = {name: dict(spec) for name, spec in base.items()}
    for name in _REFUSED:
        if name in cmds:
            # No path processing or permission check: the refusal answers directly.
            cmds[name].update(perm=None, arg=None)
    return cmds


class _Upload:
    """The file object the data channel writes into: counts, limits, and feeds the sink."""

    def __init__(self, handler: _UploadOnly, upload: ClipUpload, filename: str) -> None:
        self.name = filename
        self.closed = False
        self._handler = handler
        self._upload = upload
        self._limit = handler.settings.max_upload
        self.size = 0
        self.oversize = False
        self.aborted = False  # the camera sent ABOR: it does not want this upload kept
        self.failure: str | None = None

    def write(self, data: bytes) -> int:
        # An OSError here makes the data channel close with a 426 reply;
        # finish() then replaces it with the reason.
        if self.closed:
            raise OSError(errno.EBADF, "the upload has ended")
        if self.size + len(data) > self._limit:
            self.oversize = True
            raise OSError(errno.EFBIG, "the upload is larger than the limit")
        try:
            self._upload.write(data)
        except Exception as exc:
            self.failure = exc.message if isinstance(exc, RingfenceError) else type(exc).__name__
            raise OSError(errno.EIO, "the upload cannot be stored") from None
        self.size += len(data)
        return len(data)

    def finish(self, complete: bool, how: str = "") -> str | None:
        """Commit or discard; the reply to send now instead of the default one.

        None keeps the data channel's default reply; "" sends none now: the
        commit runs in the commit thread, which replies when it is done.
        *how* says how an incomplete transfer ended (for the record).
        """
        if self.closed:
            return None
        self.closed = True
        handler = self._handler
        if self.failure is not None:
            self._upload.abort()
            handler.report("upload.failed", filename=self.name, size=self.size, detail=self.failure)
            return "451 The upload could not be stored; nothing was kept. Try again."
        if self.oversize:
            self._upload.abort()
            handler.report(
                "upload.oversize",
                filename=self.name,
                size=self.size,
                detail=f"limit {self._limit} bytes",
            )
            return (
                f"552 The upload is larger than the limit of {self._limit} bytes; nothing was kept."
            )
        if not complete and (self.aborted or handler.receiver.stopping or self.size == 0):
            self._upload.abort()
            handler.report(
                "upload.incomplete",
                filename=self.name,
                size=self.size,
                detail="aborted"
                if self.aborted
                else "the receiver stopped"
                if handler.receiver.stopping
                else how,
            )
            return None
        handler.commit_later(self, None if complete else (how or "the connection was lost"))
        return ""

    def commit(self, cut_short: str | None) -> SealedUpload:
        """In the commit thread: make the upload durable (and recorded, by the sink)."""
        if cut_short is None:
            return self._upload.commit()
        return self._upload.commit(cut_short=cut_short)

    def close(self) -> None:
        """Called by the server when a connection ends: an unfinished upload ends here."""
        self.finish(False, "the control connection was lost")


class _UploadDTP:
    """Data-channel behaviour: bytes as sent (no ASCII translation), commit before replying."""

    file_obj: Any
    receive: bool
    transfer_finished: bool
    _resp: tuple[str, Any] | None
    _closed: bool

    def enable_receiving(self, type: str, cmd: str) -> None:  # noqa: A002 - pyftpdlib's name
        # A clip is binary whatever TYPE the camera set: store the bytes as sent.
        super().enable_receiving("i", cmd)  # type: ignore[misc]

    socket: Any

    def _drain(self, upload: _Upload) -> None:
        """Take what already arrived on the data connection (its socket buffer, so
        bounded), for an upload whose control connection ended first."""
        for _ in range(1024):
            try:
                chunk = self.socket.recv(65536)
            except Exception:  # nothing more now (EAGAIN, TLS wants more), or reset
                return
            if not chunk:
                return
            try:
                upload.write(chunk)
            except OSError:
                return

    def close(self) -> None:
        if not self._closed and self.receive and isinstance(self.file_obj, _Upload):
            upload = self.file_obj
            if not (
                self.transfer_finished
                or upload.closed
                or upload.aborted
                or self._resp
                or upload._handler.receiver.stopping
            ):
                self._drain(upload)
            # A reply already set here is a data-channel error (reset, timeout).
            how = "the data connection failed" if self._resp else "the transfer was cut off"
            reply = self.file_obj.finish(self.transfer_finished, how)
            if reply == "":
                self._resp = None  # the commit thread replies
            elif reply is not None:
                self._resp = (reply, log.info)
        super().close()  # type: ignore[misc]


class _PlainDTP(_UploadDTP, DTPHandler):
    pass


class _TlsDTP(_UploadDTP, TLS_DTPHandler):
    pass


class _UploadOnly:
    """Command-channel behaviour shared by the plain and the TLS handler."""

    # Set on the per-receiver subclass by FtpReceiver.
    settings: FtpSettings
    sink: ClipSink
    emit: Callable[[FtpEvent], None]
    receiver: FtpReceiver
    authorizer: _Authorizer
    camera: str = ""

    remote_ip: str
    username: str
    authenticated: bool
    data_channel: Any
    _in_dtp_queue: Any
    _current_type: str
    _closed: bool
    respond: Callable[[str], None]
    push: Callable[[str], None]
    add_channel: Callable[[], None]
    del_channel: Callable[[], None]
    handle_auth_failed: Callable[[str, str], None]
    handle_auth_success: Callable[[str, str, str], None]

    _in_buffer: list[bytes]
    _in_buffer_len: int
    close_when_done: Callable[[], None]

    def collect_incoming_data(self, data: bytes) -> None:
        """A command line over 2048 bytes ends the connection after one 500 reply
        (pyftpdlib would answer and log each further 2 KiB: a log flood)."""
        self._in_buffer.append(data)
        self._in_buffer_len += len(data)
        if self._in_buffer_len > MAX_COMMAND_LINE:
            self._in_buffer, self._in_buffer_len = [], 0
            if not self._closed and self.connected:
                self.respond("500 Command too long; closing.")
                self.connected = False  # read nothing more from this peer
                self.close_when_done()

    connected: bool

    # -- logins: the password check (scrypt) runs in the login pool

    def ftp_PASS(self, line: str) -> None:
        if self.authenticated:
            self.respond("503 User already authenticated.")
            return
        if not self.username:
            self.respond("503 Login with USER first.")
            return
        gate, username, address = self.authorizer, self.username, self.remote_ip
        if gate.throttle.blocked(address):
            gate.emit("login.blocked", address, username)
            self.handle_auth_failed("Too many failed logins from your address; try later.", "")
            return
        # Read nothing more from this peer until its password is checked.
        self.del_channel()
        self.receiver.paused.add(self)

        def done(account: FtpAccount | None, exc: BaseException | None) -> None:
            self.receiver.paused.discard(self)
            if self._closed:
                return
            self.add_channel()
            if exc is not None:
                log.error("ftp: the password check failed: %s", type(exc).__name__)
            if account is None:
                blocked = gate.throttle.failed(address)
                gate.emit("login.blocked" if blocked else "login.failed", address, username)
                self.handle_auth_failed("Authentication failed.", "")
                return
            gate.throttle.succeeded(address)
            self.camera = account.camera
            self.handle_auth_success("/", "", gate.get_msg_login(username))

        self.receiver.off_loop(
            self.receiver.logins, lambda: gate.accounts.check(username, line), done
        )

    def ftp_ABOR(self, line: str) -> None:
        # ABOR is the camera cancelling: that upload is discarded, not kept as cut short.
        queued = self._in_dtp_queue[0] if self._in_dtp_queue else None
        for fobj in (getattr(self.data_channel, "file_obj", None), queued):
            if isinstance(fobj, _Upload):
                fobj.aborted = True
        super().ftp_ABOR(line)  # type: ignore[misc]

    # -- commits: in the commit thread; the reply follows

    def commit_later(self, upload: _Upload, cut_short: str | None) -> None:
        def done(sealed: SealedUpload | None, exc: BaseException | None) -> None:
            if exc is not None or sealed is None:
                detail = exc.message if isinstance(exc, RingfenceError) else type(exc).__name__
                self.report("upload.failed", filename=upload.name, size=upload.size, detail=detail)
                reply = "451 The upload could not be stored; nothing was kept. Try again."
            elif cut_short is not None:
                self.report(
                    "upload.cut_short",
                    filename=upload.name,
                    size=upload.size,
                    sealed=sealed,
                    detail=cut_short,
                )
                reply = (
                    "426 The transfer was cut short; the part received is kept, "
                    "marked as cut short."
                )
            else:
                self.report("upload.sealed", filename=upload.name, size=upload.size, sealed=sealed)
                reply = "226 Transfer complete; the clip is sealed."
            if not self._closed:
                self.respond(reply)

        self.receiver.off_loop(self.receiver.commits, lambda: upload.commit(cut_short), done)

    def report(self, kind: str, **facts: Any) -> None:
        event = FtpEvent(kind, self.remote_ip, login=self.username, camera=self.camera, **facts)
        try:
            self.emit(event)
        except Exception:  # a broken observer must not break the receiver
            log.exception("ftp: the event handler failed for %s", kind)

    def ftp_STOR(self, file: str, mode: str = "w") -> str | None:
        filename = safe_filename(file)
        if filename is None:
            self.respond("553 File name not allowed: use a plain printable name.")
            return None
        try:
            inner = self.sink.begin(self.camera, filename)
            try:
                upload = BackgroundUpload(inner)
            except BaseException:  # no thread to seal with: the begun upload must go
                inner.abort()
                raise
        except Exception as exc:
            detail = exc.message if isinstance(exc, RingfenceError) else type(exc).__name__
            self.report("upload.failed", filename=filename, detail=detail)
            self.respond("451 The upload cannot be stored now; try again later.")
            return None
        fobj = _Upload(self, upload, filename)
        if self.data_channel is not None:
            self.respond("125 Data connection already open. Transfer starting.")
            self.data_channel.file_obj = fobj
            self.data_channel.enable_receiving(self._current_type, "STOR")
        else:
            self.respond("150 File status okay. About to open data connection.")
            self._in_dtp_queue = (fobj, "STOR")
        return file

    def ftp_FEAT(self, line: str) -> None:
        """Only what this server does: no REST STREAM, SIZE, MDTM or MLST to invite reads."""
        features = sorted({"UTF8", "EPRT", "EPSV", *getattr(self, "_extra_feats", [])})
        self.push("211-Features supported:\r\n")
        self.push("".join(f" {f}\r\n" for f in features))
        self.respond("211 End FEAT.")


def _refusal(reply: str) -> Callable[[Any, str], None]:
    def refuse(self: Any, line: str = "", **kwargs: Any) -> None:
        self.respond(reply)

    return refuse


for _cmd, _reply in _REFUSED.items():
    setattr(_UploadOnly, "ftp_" + _cmd.replace(" ", "_"), _refusal(_reply))
del _cmd, _reply


class _Authorizer:
    """pyftpdlib's authorizer interface over the accounts and a throttle.

    The password itself is checked by ``_UploadOnly.ftp_PASS``, off the
    server's thread; this answers pyftpdlib's other questions.
    """

    def __init__(
        self, accounts: Accounts, throttle: LoginThrottle, emit: Callable[[str, str, str], None]
    ) -> None:
        self.accounts, self.throttle, self.emit = accounts, throttle, emit

    def validate_authentication(self, username: str, password: str, handler: Any) -> None:
        raise AuthenticationFailed("Authentication failed.")  # never called: see ftp_PASS

    def get_home_dir(self, username: str) -> str:
        return "/"

    def has_user(self, username: str) -> bool:
        return self.accounts.get(username) is not None

    def has_perm(self, username: str, perm: str, path: str | None = None) -> bool:
        return perm in "elmw"

    def get_perms(self, username: str) -> str:
        return "elmw"

    def get_msg_login(self, username: str) -> str:
        return "Logged in. Upload only: clips are sealed as they arrive."

    def get_msg_quit(self, username: str) -> str:
        return "Goodbye."

    def impersonate_user(self, username: str, password: str) -> None:
        return None

    def terminate_impersonation(self, username: str) -> None:
        return None


def _tls_context(tls: TlsIdentity) -> SSL.Context:
    ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
    ctx.set_options(SSL.OP_NO_COMPRESSION)
    try:
        ctx.use_certificate_chain_file(str(tls.cert_path))
        ctx.use_privatekey_file(str(tls.key_path))
        ctx.check_privatekey()
    except SSL.Error:
        raise UsageError("FTPS: the certificate or key cannot be used") from None
    return ctx


class _EscapedRecords(logging.Filter):
    """Makes a record's message safe to print (vault.safetext.shown)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = shown(record.getMessage())
        record.args = None
        return True


class _LoopCalls:
    """Runs callables in the server's thread, posted from any thread.

    pyftpdlib's loop is single-threaded and has no thread-safe way in; a
    socket pair registered with it wakes it as soon as a worker posts.
    """

    def __init__(self, ioloop: Any) -> None:
        self._r, self._w = socket.socketpair()
        self._r.setblocking(False)
        self._w.setblocking(False)
        self._fileno = self._r.fileno()
        self._calls: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._ioloop = ioloop
        ioloop.register(self._fileno, self, ioloop.READ)

    def post(self, call: Callable[[], None]) -> None:
        self._calls.put(call)
        # Full: a wake-up is pending anyway; closed: the receiver is stopping.
        with contextlib.suppress(OSError):
            self._w.send(b"\0")

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def handle_read_event(self) -> None:
        try:
            while self._r.recv(4096):
                pass
        except OSError:
            pass
        while True:
            try:
                call = self._calls.get_nowait()
            except queue.Empty:
                return
            try:
                call()
            except Exception:  # one broken callback must not stop the receiver
                log.exception("ftp: a deferred reply failed")

    def handle_write_event(self) -> None:
        return None

    def handle_error(self) -> None:
        log.exception("ftp: the wake-up channel failed")

    def handle_close(self) -> None:
        self.close()

    def close(self) -> None:
        self._ioloop.unregister(self._fileno)
        self._r.close()
        self._w.close()


@dataclass
class FtpReceiver:
    """An upload-only FTP/FTPS server for *accounts*, sealing into *sink*.

    ``start()`` binds (``settings.port`` 0 picks a free port, see ``address``)
    and serves in a thread; ``stop()`` closes every connection (discarding
    the uploads in progress), lets a commit under way finish, and waits for
    the threads.
    """

    accounts: Accounts
    sink: ClipSink
    settings: FtpSettings = field(default_factory=FtpSettings)
    on_event: Callable[[FtpEvent], None] = lambda event: None
    throttle: LoginThrottle = field(default_factory=LoginThrottle)

    def __post_init__(self) -> None:
        self._server: FTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._calls: _LoopCalls | None = None
        self.logins = self.commits = ThreadPoolExecutor(1)  # replaced by start()
        #: Connections whose reading is paused while their password is checked.
        self.paused: set[Any] = set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def off_loop(
        self,
        pool: ThreadPoolExecutor,
        work: Callable[[], Any],
        done: Callable[[Any, BaseException | None], None],
    ) -> None:
        """Run *work* in *pool*, then ``done(result, exception)`` in the server's thread."""
        calls = self._calls

        def finished(future: Future[Any]) -> None:
            exc = future.exception()
            result = None if exc is not None else future.result()
            if calls is not None and not self._stopping.is_set():
                calls.post(lambda: done(result, exc))

        try:
            pool.submit(work).add_done_callback(finished)
        except RuntimeError:  # the pool is shut down: the receiver is stopping
            done(None, UsageError("the FTP receiver is stopping"))

    def _handler_class(self) -> type:
        s = self.settings
        tls = s.tls is not None
        base: Any = TLS_FTPHandler if tls else FTPHandler
        receiver = self

        def login_event(kind: str, address: str, login: str) -> None:
            event = FtpEvent(kind, address, login=login)
            try:
                receiver.on_event(event)
            except Exception:
                log.exception("ftp: the event handler failed for %s", kind)

        attrs: dict[str, Any] = {
            "settings": s,
            "sink": self.sink,
            "receiver": self,
            "emit": staticmethod(self.on_event),
            "authorizer": _Authorizer(self.accounts, self.throttle, login_event),
            "abstracted_fs": _VirtualFS,
            "dtp_handler": _TlsDTP if tls else _PlainDTP,
            "proto_cmds": _proto_cmds(base.proto_cmds),
            "banner": s.banner,
            "timeout": s.idle_timeout,
            "auth_failed_timeout": s.failed_login_delay,
            "max_login_attempts": 3,
            "passive_ports": list(s.passive_ports) if s.passive_ports else None,
            "masquerade_address": s.masquerade_address,
            "use_sendfile": False,
            "permit_foreign_addresses": False,
        }
        if s.tls is not None:
            attrs.update(
                ssl_context=_tls_context(s.tls),
                tls_control_required=s.require_tls,
                tls_data_required=s.require_tls,
            )
        return type("RingfenceFtpHandler", (_UploadOnly, base), attrs)

    def start(self) -> tuple[str, int]:
        """Bind and serve in a background thread; the bound (host, port)."""
        if self._server is not None:
            raise UsageError("the FTP receiver is already running")
        handler = self._handler_class()
        # pyftpdlib configures logging to stderr if nothing is configured;
        # its records go to the daemon's own handlers instead.
        pyftpdlib_log = logging.getLogger("pyftpdlib")
        if not pyftpdlib_log.handlers:
            pyftpdlib_log.addHandler(logging.NullHandler())
        # Its lines quote what a peer sent (user names, paths): escaped before
        # any handler sees them, so no peer writes terminal escapes into a log.
        if not any(isinstance(f, _EscapedRecords) for f in pyftpdlib_log.filters):
            pyftpdlib_log.addFilter(_EscapedRecords())
        ioloop = IOLoop()
        try:
            server = FTPServer((self.settings.host, self.settings.port), handler, ioloop=ioloop)
        except OSError as exc:
            raise StorageError(
                f"cannot listen on {self.settings.host}:{self.settings.port}: {exc.strerror}"
            ) from None
        server.max_cons = self.settings.max_connections
        server.max_cons_per_ip = self.settings.max_connections_per_address
        self._calls = _LoopCalls(ioloop)
        #: Password checks: two at a time, so a flood of logins cannot take both cores.
        self.logins = ThreadPoolExecutor(2, thread_name_prefix="ringfence-ftp-login")
        #: Commits: one at a time (the catalog has one writer), never behind a login.
        self.commits = ThreadPoolExecutor(1, thread_name_prefix="ringfence-ftp-commit")
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name="ringfence-ftp", daemon=True)
        self._thread.start()
        return self.address

    @property
    def address(self) -> tuple[str, int]:
        if self._server is None:
            raise UsageError("the FTP receiver is not running")
        host, port = self._server.address[:2]
        return str(host), int(port)

    def _serve(self) -> None:
        server = self._server
        assert server is not None
        try:
            # The loop itself, one poll at a time (serve_forever would log a
            # start line at every call).
            loop = server.ioloop.loop
            while not self._stopping.is_set():
                loop(0.2, False)
        finally:
            server.close_all()
            for handler in list(self.paused):  # not in the loop's map while paused
                try:
                    handler.close()
                except Exception:
                    log.exception("ftp: closing a paused connection failed")
            self.paused.clear()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop serving: uploads in progress are discarded, a commit under way finishes."""
        if self._server is None:
            return
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.logins.shutdown(wait=False, cancel_futures=True)
        self.commits.shutdown(wait=True)
        self._server = None
        self._thread = None
        self._calls = None
