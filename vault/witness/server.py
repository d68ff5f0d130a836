"""The witness over HTTP: ``POST <prefix>/add-checkpoint`` (c2sp.org/tlog-witness).

Standard library only (``http.server``), so it runs on a small machine with
nothing else installed. Every read is bounded, because the peer may be
hostile or just slow:

* a request body needs a ``Content-Length`` (411 without one, no chunked
  bodies) of at most 1 MiB (413);
* every socket read times out (``READ_TIMEOUT_S``), and a whole request,
  headers included, must arrive within ``REQUEST_DEADLINE_S`` or its
  connection is cut, so a peer dripping one byte at a time cannot hold a
  thread for ever;
* at most ``MAX_CONNECTIONS`` connections are served at once; more are closed.

The peer sees a status and a one-line reason, never a traceback: anything
unexpected is logged here and answered with a bare 500.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from vault.safetext import shown
from vault.witness.errors import REFUSALS, SizeConflict
from vault.witness.protocol import (
    MAX_REQUEST_BYTES,
    SIZE_CONTENT_TYPE,
    cosignature_lines,
    size_line,
)
from vault.witness.witness import Witness

log = logging.getLogger("ringfence.witness")

READ_TIMEOUT_S = 10.0
REQUEST_DEADLINE_S = 30.0
MAX_CONNECTIONS = 32
#: After refusing a body unread: how long and how much of it is read and dropped.
LINGER_S = 2.0
LINGER_BYTES = 2 << 20
ADD_CHECKPOINT = "/add-checkpoint"


class _Handler(BaseHTTPRequestHandler):
    server: WitnessServer
    server_version = "ringfence-witness"
    sys_version = ""
    protocol_version = "HTTP/1.1"  # keep-alive, as the spec recommends

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.read_timeout)  # every read, headers included

    def handle_one_request(self) -> None:
        # The deadline covers reading the request line, the headers and the
        # body: a socket timeout alone restarts with every byte that arrives.
        timer = threading.Timer(self.server.request_deadline, self._cut)
        timer.daemon = True
        timer.start()
        try:
            super().handle_one_request()
        finally:
            timer.cancel()

    def _cut(self) -> None:
        log.warning(
            "cutting a connection from %s: the request took too long", self.client_address[0]
        )
        self.close_connection = True
        with contextlib.suppress(OSError):  # already closed
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format: str, *args: Any) -> None:
        # The request line is the peer's: escape what could drive a terminal.
        log.info("%s %s", self.client_address[0], shown(format % args))

    def _reply(
        self,
        status: int,
        body: bytes,
        content_type: str = "text/plain; charset=utf-8",
        *,
        close: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _refuse_unread(self, status: int, message: str) -> None:
        """Refuse a request whose body is not read, so that the peer sees the answer.

        Closing a socket with unread bytes makes the kernel reset the
        connection, and a peer still sending its body then gets a broken pipe
        instead of this reply. So the answer is sent, the sending side shut,
        and what the peer still sends is read and dropped, bounded by bytes
        and by time, before the connection closes.
        """
        self._text(status, message, close=True)
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(LINGER_S)
            end = time.monotonic() + LINGER_S
            dropped = 0
            while dropped <= LINGER_BYTES and time.monotonic() < end:
                chunk = self.connection.recv(64 << 10)
                if not chunk:
                    break
                dropped += len(chunk)

    def _text(self, status: int, message: str, *, close: bool = False) -> None:
        self._reply(status, (message.replace("\n", " ") + "\n").encode("utf-8"), close=close)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Used by the base class for malformed request lines and headers.
        try:
            self._text(code, message or HTTPStatus(code).phrase, close=True)
        except OSError:
            self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802 (the base class's naming)
        if self.path == ADD_CHECKPOINT:
            self._text(405, "add-checkpoint takes POST", close=True)
        else:
            self._text(404, "not found", close=True)

    do_HEAD = do_GET  # noqa: N815

    def do_POST(self) -> None:  # noqa: N802
        try:
            self._post()
        except OSError:
            self.close_connection = True  # the peer went away or was cut off
        except Exception:
            log.exception("add-checkpoint failed")
            try:
                self._text(500, "internal error", close=True)
            except OSError:
                self.close_connection = True

    def _post(self) -> None:
        if self.path != self.server.prefix + ADD_CHECKPOINT:
            self._text(404, "not found", close=True)
            return
        body = self._body()
        if body is None:
            return
        try:
            done = self.server.witness.add_checkpoint(body)
        except SizeConflict as exc:
            log.info("add-checkpoint 409: %s", shown(exc.message))
            self._reply(409, size_line(exc.size), SIZE_CONTENT_TYPE)
            return
        except REFUSALS as exc:
            log.info("add-checkpoint %d: %s", exc.http_status, shown(exc.message))
            self._text(exc.http_status, exc.message)
            return
        log.info("cosigned %s at size %d", shown(done.origin), done.size)
        self._reply(200, cosignature_lines([done.cosignature]))

    def _body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding") is not None:
            self._refuse_unread(411, "send a Content-Length, not a chunked body")
            return None
        lengths = self.headers.get_all("Content-Length") or []
        if len(lengths) != 1:
            self._refuse_unread(411, "a Content-Length is required")
            return None
        text = lengths[0].strip()
        # ASCII digits only: str.isdigit() also takes "²" or "٣", which int() refuses.
        if not (text.isascii() and text.isdigit()) or len(text) > 10:
            self._refuse_unread(400, "the Content-Length is not a number")
            return None
        length = int(text)
        if length > MAX_REQUEST_BYTES:
            self._refuse_unread(413, f"the body is larger than {MAX_REQUEST_BYTES} bytes")
            return None
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            return None
        return body


class WitnessServer(ThreadingHTTPServer):
    """The HTTP witness; ``serve_forever`` in one thread, ``shutdown`` from another."""

    daemon_threads = True
    # A restarted witness binds again at once, though old connections linger.
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        witness: Witness,
        prefix: str = "",
        *,
        read_timeout: float = READ_TIMEOUT_S,
        request_deadline: float = REQUEST_DEADLINE_S,
    ) -> None:
        self.witness = witness
        self.prefix = prefix.rstrip("/")
        self.read_timeout = read_timeout
        self.request_deadline = request_deadline
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        host = address[0]
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), int(self.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}{self.prefix}"

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            log.warning("too many connections: closing one from %s", client_address[0])
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.exception("error serving %s", client_address[0])
