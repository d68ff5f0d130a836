"""The FTP/FTPS receiver as the daemon runs it: settings, accounts, events, status.

Built from ``[ftp]`` in ``config.toml`` (or ``daemon --ftp-listen`` for one
run); absent both, there is no receiver. The logins are the vault's
``ftp-accounts.json`` (read again when ``camera add --ftp`` or ``camera
ftp-password`` changes it); uploads seal into the daemon's
:class:`vault.ingest.recording.CatalogSink`. Receiver events are logged
(peer text escaped) and counted for ``ringfence status``.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault.config import FtpConfig, parse_listen
from vault.errors import UsageError
from vault.safetext import shown
from vault.timeutil import iso

if TYPE_CHECKING:
    from vault.ingest.ftp import FtpEvent, FtpReceiver
    from vault.ingest.receivers import ReceiverSetup

log = logging.getLogger("ringfence.ftp")


def ftp_settings(setup: ReceiverSetup) -> FtpConfig | None:
    """``[ftp]``, with ``--ftp-listen`` put in for this run; None when neither is given."""
    configured = setup.vault.config.ftp
    listen = setup.overrides.get("ftp_listen")
    if listen is None:
        return configured
    host, port = parse_listen(listen, "--ftp-listen")
    if configured is None:
        return FtpConfig(host, port)
    return FtpConfig(
        host,
        port,
        configured.passive_ports,
        configured.tls,
        configured.tls_cert,
        configured.tls_key,
        configured.max_upload,
    )


def ftp_receiver(setup: ReceiverSetup) -> FtpService | None:
    config = ftp_settings(setup)
    return None if config is None else FtpService(setup, config)


class FtpService:
    """The daemon's :class:`vault.ingest.receivers.Receiver` for FTP/FTPS."""

    name = "ftp"

    def __init__(self, setup: ReceiverSetup, config: FtpConfig) -> None:
        self._setup, self._config = setup, config
        self._receiver: FtpReceiver | None = None
        self._lock = threading.Lock()
        self._counts = {"uploads": 0, "cut_short": 0, "refused": 0, "failed_logins": 0}
        self._last_upload_at: str | None = None
        self._last_error: str | None = None
        self._fingerprint: str | None = None
        self._listening = ""

    def start(self) -> None:
        try:
            from vault.ingest.ftp import DEFAULT_MAX_UPLOAD, FtpReceiver, FtpSettings
            from vault.ingest.ftp_accounts import AccountFile
            from vault.ingest.ftp_tls import ensure_identity, supplied
        except ImportError:
            raise UsageError(
                "[ftp] is configured but the FTP receiver is not installed: "
                "pip install 'ringfence[ftp]'"
            ) from None
        layout, c = self._setup.vault.layout, self._config
        tls = None
        if c.tls:
            tls = (
                supplied(Path(c.tls_cert), Path(c.tls_key))
                if c.tls_cert is not None and c.tls_key is not None
                else ensure_identity(layout.ftps)
            )
            self._fingerprint = tls.fingerprint
        settings = FtpSettings(
            host=c.host,
            port=c.port,
            tls=tls,
            passive_ports=range(c.passive_ports[0], c.passive_ports[1] + 1)
            if c.passive_ports
            else None,
            max_upload=c.max_upload if c.max_upload is not None else DEFAULT_MAX_UPLOAD,
        )
        accounts = AccountFile(layout.ftp_accounts)
        if accounts.error:
            log.warning("ftp: %s", accounts.error)
        receiver = FtpReceiver(accounts, self._setup.sink, settings, on_event=self._on_event)
        host, port = receiver.start()
        self._receiver = receiver
        self._listening = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if not accounts.logins():
            log.warning("ftp: no camera has a login yet (ringfence camera add NAME --ftp)")

    def _on_event(self, event: FtpEvent) -> None:
        login, name = shown(event.login), shown(event.filename)
        with self._lock:
            if event.kind == "upload.sealed":
                self._counts["uploads"] += 1
                self._last_upload_at = iso(self._setup.vault.clock())
            elif event.kind == "upload.cut_short":
                self._counts["uploads"] += 1
                self._counts["cut_short"] += 1
                self._last_upload_at = iso(self._setup.vault.clock())
            elif event.kind in ("login.failed", "login.blocked"):
                self._counts["failed_logins"] += 1
            elif event.kind in ("upload.failed", "upload.oversize"):
                self._counts["refused"] += 1
                self._last_error = f"{name} from {event.camera}: {shown(event.detail)}"
        sealed = event.sealed
        if event.kind == "upload.sealed" and sealed is not None:
            log.info(
                "ftp: %s from %s sealed as %s (%d bytes)%s",
                name,
                event.camera,
                sealed.clip_id,
                sealed.size,
                " (the same bytes as before)"
                if sealed.duplicate
                else " (truncated: the media check found it incomplete)"
                if sealed.truncated
                else "",
            )
        elif event.kind == "upload.cut_short" and sealed is not None:
            log.warning(
                "ftp: %s from %s was cut short (%s); the %d bytes received are kept "
                "as %s, marked truncated",
                name,
                event.camera,
                shown(event.detail),
                sealed.size,
                sealed.clip_id,
            )
        elif event.kind == "upload.incomplete":
            log.info(
                "ftp: %s from %s did not finish (%s); nothing was kept",
                name,
                event.camera,
                shown(event.detail) or "aborted",
            )
        elif event.kind in ("upload.failed", "upload.oversize"):
            log.error(
                "ftp: %s from %s refused: %s; nothing was kept",
                name,
                event.camera,
                shown(event.detail),
            )
        elif event.kind == "login.blocked":
            log.warning(
                "ftp: too many failed logins from %s (last as %s); paused", event.address, login
            )
        elif event.kind == "login.failed":
            log.info("ftp: failed login from %s as %s", event.address, login)

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "listening": self._listening,
                "tls": self._fingerprint,
                **self._counts,
                "last_upload_at": self._last_upload_at,
                "last_error": self._last_error,
            }

    def stop(self) -> None:
        receiver, self._receiver = self._receiver, None
        if receiver is not None:
            receiver.stop()
