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
its data connection early: both end the same way. A camera that dies midway
through a clean close gives a short clip, sealed as received.

The server runs in its own thread (:meth:`FtpReceiver.start`); sink calls and
event callbacks run in that thread, one at a time.
"""

from __future__ import annotations

import errno
import logging
import posixpath
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from OpenSSL import SSL
from pyftpdlib.authorizers import AuthenticationFailed
from pyftpdlib.filesystems import AbstractedFS, FilesystemError
from pyftpdlib.handlers import DTPHandler, FTPHandler, TLS_DTPHandler, TLS_FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import FTPServer

from vault.errors import RingfenceError, StorageError, UsageError
from vault.ingest.ftp_accounts import AccountBook, LoginThrottle
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


# -- what the receiver reports ----------------------------------------------------


@dataclass(frozen=True)
class FtpEvent:
    """Something the owner may want to know: a sealed clip, a refused login, a cut-off upload.

    kind is one of ``login.failed``, ``login.blocked`` (the address is paused),
    ``upload.sealed`` (``sealed`` is set), ``upload.incomplete`` (the client
    aborted or disconnected), ``upload.oversize`` (cut off at the limit),
    ``upload.failed`` (the sink refused it; ``detail`` says why).
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
    if not name or name in (".", "..") or len(name.encode("utf-8", "surrogateescape")) > MAX_FILENAME:
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

    def finish(self, complete: bool) -> str | None:
        """Commit or abort; the reply to send instead of the default one (or None)."""
        if self.closed:
            return None
        self.closed = True
        handler = self._handler
        if not complete or self.oversize or self.failure is not None:
            self._upload.abort()
            if self.failure is not None:
                handler.report("upload.failed", filename=self.name, size=self.size,
                               detail=self.failure)
                return "451 The upload could not be stored; nothing was kept. Try again."
            if self.oversize:
                handler.report("upload.oversize", filename=self.name, size=self.size,
                               detail=f"limit {self._limit} bytes")
                return (f"552 The upload is larger than the limit of {self._limit} bytes; "
                        "nothing was kept.")
            handler.report("upload.incomplete", filename=self.name, size=self.size)
            return None
        try:
            sealed = self._upload.commit()
        except Exception as exc:  # the sink refused it: say so, keep serving
            detail = exc.message if isinstance(exc, RingfenceError) else type(exc).__name__
            handler.report("upload.failed", filename=self.name, size=self.size, detail=detail)
            return "451 The upload could not be stored; nothing was kept. Try again."
        handler.report("upload.sealed", filename=self.name, size=self.size, sealed=sealed)
        return "226 Transfer complete; the clip is sealed."

    def close(self) -> None:
        """Called by the server when a connection ends: an unfinished upload is aborted."""
        self.finish(False)


class _UploadDTP:
    """Data-channel behaviour: bytes as sent (no ASCII translation), commit before replying."""

    file_obj: Any
    receive: bool
    transfer_finished: bool
    _resp: tuple[str, Any]
    _closed: bool

    def enable_receiving(self, type: str, cmd: str) -> None:  # noqa: A002 - pyftpdlib's name
        # A clip is binary whatever TYPE the camera set: store the bytes as sent.
        super().enable_receiving("i", cmd)  # type: ignore[misc]

    def close(self) -> None:
        if not self._closed and self.receive and isinstance(self.file_obj, _Upload):
            reply = self.file_obj.finish(self.transfer_finished)
            if reply is not None:
                self._resp = (reply, logging.INFO)
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
    camera: str = ""

    remote_ip: str
    username: str
    data_channel: Any
    _in_dtp_queue: Any
    _current_type: str
    respond: Callable[[str], None]
    push: Callable[[str], None]

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
            upload = self.sink.begin(self.camera, filename)
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
    """pyftpdlib's authorizer interface over an :class:`AccountBook` and a throttle."""

    def __init__(self, book: AccountBook, throttle: LoginThrottle,
                 emit: Callable[[str, str, str], None]) -> None:
        self._book, self._throttle, self._emit = book, throttle, emit

    def validate_authentication(self, username: str, password: str, handler: Any) -> None:
        address = handler.remote_ip
        if self._throttle.blocked(address):
            self._emit("login.blocked", address, username)
            raise AuthenticationFailed("Too many failed logins from your address; try later.")
        account = self._book.check(username, password)
        if account is None:
            blocked = self._throttle.failed(address)
            self._emit("login.blocked" if blocked else "login.failed", address, username)
            raise AuthenticationFailed("Authentication failed.")
        self._throttle.succeeded(address)
        handler.camera = account.camera

    def get_home_dir(self, username: str) -> str:
        return "/"

    def has_user(self, username: str) -> bool:
        return self._book.get(username) is not None

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


@dataclass
class FtpReceiver:
    """An upload-only FTP/FTPS server for *accounts*, sealing into *sink*.

    ``start()`` binds (``settings.port`` 0 picks a free port, see ``address``)
    and serves in a thread; ``stop()`` closes every connection (aborting the
    uploads in progress) and waits for the thread.
    """

    accounts: AccountBook
    sink: ClipSink
    settings: FtpSettings = field(default_factory=FtpSettings)
    on_event: Callable[[FtpEvent], None] = lambda event: None
    throttle: LoginThrottle = field(default_factory=LoginThrottle)

    def __post_init__(self) -> None:
        self._server: FTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

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
        try:
            server = FTPServer((self.settings.host, self.settings.port), handler, ioloop=IOLoop())
        except OSError as exc:
            raise StorageError(
                f"cannot listen on {self.settings.host}:{self.settings.port}: {exc.strerror}"
            ) from None
        server.max_cons = self.settings.max_connections
        server.max_cons_per_ip = self.settings.max_connections_per_address
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name="ringfence-ftp", daemon=True)
        self._thread.start()
        return self.address

    @property
    def address(self) -> tuple[str, int]:
        if self._server is None:
            raise UsageError("the FTP receiver is not running")
        host, port = self._server.address
        return str(host), int(port)

    def _serve(self) -> None:
        server = self._server
        assert server is not None
        try:
            while not self._stopping.is_set():
                server.serve_forever(timeout=0.2, blocking=False, handle_exit=False)
        finally:
            server.close_all()

    def stop(self, timeout: float = 30.0) -> None:
        if self._server is None:
            return
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._server = None
        self._thread = None
