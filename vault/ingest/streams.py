"""The cameras' streams: where each one is, kept private, and how it is shown.

``camera add NAME --stream URL`` records the stream of a camera that only
streams (RTSP, RTSPS, an HTTP(S) MP4 or MJPEG stream) in the vault's
``streams.toml``. A stream's URL usually holds the camera's own password
(``rtsp://admin:secret@192.0.2.10/stream1``), so it does not go into
``config.toml`` (public keys only, copied freely): ``streams.toml`` is
written 0600 (0640 to the daemon's group in a two-user vault, since the
daemon must read it), and every log line, status and audit entry shows the
URL through :func:`redact`, never in full.

The recorder that reads these streams is :mod:`vault.ingest.recorder`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import tomli_w

from vault.errors import UsageError, VaultError
from vault.fsutil import read_regular, write_atomic

#: What ``--stream`` accepts: anything FFmpeg opens over the network as a camera stream.
SCHEMES = ("rtsp", "rtsps", "http", "https")
DEFAULT_SEGMENT_SECONDS = 60
MAX_SEGMENT_SECONDS = 3600
MAX_URL = 2048
#: streams.toml is small; a bigger file is not ours.
MAX_FILE = 1 << 20

_HEADER = (
    b"# ringfence camera streams (`ringfence camera add NAME --stream URL`).\n"
    b"# The URLs hold the cameras' passwords: keep this file private.\n"
)


@dataclass(frozen=True)
class StreamSource:
    """One camera's stream: its URL (secret), segment length and whether sound is kept."""

    camera: str
    url: str
    segment_seconds: int = DEFAULT_SEGMENT_SECONDS
    audio: bool = True

    @property
    def shown_url(self) -> str:
        return redact(self.url)


def redact(url: str) -> str:
    """*url* without what may be secret: the password (and a user name's
    length is kept only as ``user``), and the query's values
    (``?token=…``)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "(an unreadable URL)"
    if ":" in host:
        host = f"[{host}]"
    user = ""
    if parts.username is not None or parts.password is not None:
        user = ("***:***" if parts.password is not None else "***") + "@"
    query = "&".join(
        f"{pair.split('=', 1)[0]}=…" if "=" in pair else pair
        for pair in parts.query.split("&")
        if pair
    )
    return urlunsplit((parts.scheme, f"{user}{host}{port}", parts.path, query, ""))


def redact_text(text: str, url: str) -> str:
    """An error message from FFmpeg or the network with *url* and its secrets hidden."""
    out = text.replace(url, redact(url))
    try:
        parts = urlsplit(url)
    except ValueError:
        return out
    for secret in (parts.password, parts.username):
        if secret:
            out = out.replace(secret, "***")
    return out


def check_url(url: str) -> str:
    """*url* if it is a stream URL ringfence records; UsageError (without the URL) otherwise."""
    if not url or len(url) > MAX_URL:
        raise UsageError(f"--stream: give the camera's stream URL (at most {MAX_URL} characters)")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise UsageError("--stream: the URL has spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise UsageError("--stream: not a URL") from None
    if parts.scheme.lower() not in SCHEMES:
        raise UsageError(
            f"--stream: the URL must start with {', '.join(s + '://' for s in SCHEMES)}"
        )
    if not parts.hostname:
        raise UsageError("--stream: the URL names no host")
    return url


def check_segment_seconds(value: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= MAX_SEGMENT_SECONDS
    ):
        raise UsageError(f"--segment-seconds must be 1 to {MAX_SEGMENT_SECONDS}")
    return value


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _source(camera: str, table: Any, where: Path) -> StreamSource:
    if not _NAME.match(camera) or not isinstance(table, dict):
        raise VaultError(f"{where}: [{camera[:64]}] is not a camera's stream")
    unknown = set(table) - {"url", "segment_seconds", "audio"}
    if unknown:
        raise VaultError(f"{where}: [{camera}] has unknown setting(s) {', '.join(sorted(unknown))}")
    if not isinstance(table.get("url"), str):
        raise VaultError(f'{where}: [{camera}] needs url = "the camera\'s stream URL"')
    try:
        url = check_url(table["url"])
        seconds = check_segment_seconds(table.get("segment_seconds", DEFAULT_SEGMENT_SECONDS))
    except UsageError as exc:
        raise VaultError(f"{where}: [{camera}] {exc.message.removeprefix('--stream: ')}") from None
    audio = table.get("audio", True)
    if not isinstance(audio, bool):
        raise VaultError(f"{where}: [{camera}] audio must be true or false")
    return StreamSource(camera, url, seconds, audio)


def load_streams(path: Path) -> dict[str, StreamSource]:
    """The streams in *path* by camera; none when the file does not exist."""
    try:
        data = read_regular(path, MAX_FILE)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise VaultError(f"cannot read {path.name}: {exc.strerror}") from None
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise VaultError(f"{path} is not valid TOML: {exc}") from None
    return {name: _source(name, table, path) for name, table in sorted(doc.items())}


def save_streams(path: Path, streams: Mapping[str, StreamSource]) -> None:
    doc = {
        name: {"url": s.url, "segment_seconds": s.segment_seconds, "audio": s.audio}
        for name, s in sorted(streams.items())
    }
    write_atomic(path, _HEADER + tomli_w.dumps(doc).encode(), mode=0o600, group_write=False)
