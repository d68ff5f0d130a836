"""The stream recorder: cameras that only stream, recorded as sealed segments.

For each camera in ``streams.toml`` (:mod:`vault.ingest.streams`) one thread
opens the stream with PyAV and copies its packets, never decoding them, into
segments of about ``segment_seconds``. A segment starts at a video keyframe
(so each one plays on its own), is written as fragmented MP4 straight into
the daemon's :class:`vault.ingest.recording.CatalogSink` (sealed as it is
written: no plaintext reaches the disk) and becomes one clip whose capture
time is the wall time its first frame arrived.

The connection is the weak part, so:

- a stream that cannot be opened, stops sending (no packet for
  ``READ_TIMEOUT`` seconds) or ends is opened again after a back-off that
  doubles from 1 s to ``MAX_BACKOFF``, and ``status`` shows "reconnecting
  since T" with the last error (its URL and password hidden);
- the segment in progress when the connection drops, or when the daemon
  stops, is closed and kept: its last fragment ends it, and the media check
  decides whether it is whole. A SIGKILL leaves a blob with an intent note
  and no catalog row, which the daemon's recovery removes;
- timestamps are rebased to start at zero in each segment; packets without
  them (RTSP's first ones) or going backwards (a sender's clock reset) are
  dropped and counted, since the MP4 muxer refuses them;
- a sound track the MP4 container cannot hold (G.711 from many cameras) is
  left out, and ``status`` says so, rather than losing the picture.

``streams.toml`` is read again when it changes, so a camera added with
``camera add --stream`` is recorded without restarting the daemon.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault.errors import RingfenceError, UsageError, VaultError
from vault.ingest.streams import StreamSource, load_streams, redact_text
from vault.timeutil import iso

if TYPE_CHECKING:
    from vault.ingest.ftp_sink import ClipSink, ClipUpload
    from vault.ingest.receivers import ReceiverSetup

log = logging.getLogger("ringfence.stream")

#: Seconds to open a stream, and to wait for its next packet, before trying again.
OPEN_TIMEOUT = 15.0
READ_TIMEOUT = 10.0
MAX_BACKOFF = 60.0
#: Fragmented MP4 that needs no seek: the index is at the start, each
#: keyframe starts a fragment, and a cut-off file plays to its last fragment.
MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof"
#: A stream whose packets carry no time (MJPEG over HTTP) is timed by arrival, in ms.
_WALL_TIME_BASE = Fraction(1, 1000)


def stream_receiver(setup: ReceiverSetup) -> StreamRecorder | None:
    path = setup.vault.layout.streams
    if not load_streams(path):
        return None
    return StreamRecorder(path, setup.sink, setup.vault.clock)


class StreamRecorder:
    """The daemon's :class:`vault.ingest.receivers.Receiver` for every camera stream."""

    name = "streams"

    def __init__(
        self,
        path: Path,
        sink: ClipSink,
        clock: Callable[[], datetime],
        *,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        self._path, self._sink, self._clock = path, sink, clock
        self._read_timeout = read_timeout
        self._workers: dict[str, _StreamWorker] = {}
        self._seen: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self._error: str | None = None

    def start(self) -> None:
        try:
            import av  # noqa: F401
        except ImportError:
            raise UsageError(
                "cameras with a stream are configured but PyAV is not installed: "
                "pip install 'ringfence[media]'"
            ) from None
        self._refresh()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = self._path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _refresh(self) -> None:
        """Start the streams new in streams.toml, stop those gone or changed."""
        stamp = self._stamp()
        if stamp == self._seen and self._workers:
            return
        try:
            sources = load_streams(self._path)
        except VaultError as exc:
            # A bad edit keeps the streams running as they are.
            self._error = exc.message
            log.warning("%s", exc.message)
            return
        self._seen, self._error = stamp, None
        with self._lock:
            for name in list(self._workers):
                if sources.get(name) != self._workers[name].source:
                    self._workers.pop(name).stop()
            for name, source in sources.items():
                if name not in self._workers:
                    worker = _StreamWorker(source, self._sink, self._clock, self._read_timeout)
                    self._workers[name] = worker
                    worker.start()
                    log.info("recording the stream of %s from %s", name, source.shown_url)

    def status(self) -> dict[str, Any]:
        self._refresh()
        with self._lock:
            out: dict[str, Any] = {name: w.status() for name, w in sorted(self._workers.items())}
        if self._error:
            out["error"] = self._error
        return out

    def stop(self) -> None:
        with self._lock:
            workers = list(self._workers.values())
            self._workers.clear()
        for w in workers:
            w.stop(wait=False)
        for w in workers:
            w.join()


class _StreamWorker:
    """One camera's stream: connect, record segments, reconnect (module docstring)."""

    def __init__(
        self,
        source: StreamSource,
        sink: ClipSink,
        clock: Callable[[], datetime],
        read_timeout: float,
    ) -> None:
        self.source, self._sink, self._clock = source, sink, clock
        self._read_timeout = read_timeout
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"ringfence-stream-{source.camera}", daemon=True
        )
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {
            "url": source.shown_url,
            "state": "connecting",
            "since": iso(clock()),
            "segments": 0,
            "last_segment_at": None,
            "last_error": None,
            "dropped_packets": 0,
            "audio": "kept" if source.audio else "off (--no-audio)",
        }

    def start(self) -> None:
        self._thread.start()

    def stop(self, *, wait: bool = True) -> None:
        self._stopping.set()
        if wait:
            self.join()

    def join(self) -> None:
        self._thread.join()

    def status(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._state)

    def _set(self, **changes: Any) -> None:
        with self._lock:
            if "state" in changes and changes["state"] != self._state["state"]:
                changes.setdefault("since", iso(self._clock()))
            self._state.update(changes)

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._state[key] += n

    # --- the connection ------------------------------------------------------------

    def _run(self) -> None:
        delay = 1.0
        while not self._stopping.is_set():
            self._set(state="connecting" if self._state["segments"] == 0 else "reconnecting")
            recorded = False
            try:
                recorded = self._connect_and_record()
                error = "the stream ended"
            except Exception as exc:  # noqa: BLE001 - any failure is one more reconnect
                error = self._describe(exc)
            if self._stopping.is_set():
                break
            if recorded:
                delay = 1.0
            self._set(state="reconnecting", last_error=error)
            log.warning(
                "stream of %s: %s; trying again in %.0f s", self.source.camera, error, delay
            )
            if self._stopping.wait(delay):
                break
            delay = min(delay * 2, MAX_BACKOFF)
        self._set(state="stopped")

    def _describe(self, exc: BaseException) -> str:
        # FFmpeg's errors read "[Errno N] what: 'URL'": what is the news.
        text = (
            getattr(exc, "message", None)
            or getattr(exc, "strerror", None)
            or str(exc)
            or type(exc).__name__
        )
        return redact_text(str(text), self.source.url)[:300]

    def _connect_and_record(self) -> bool:
        """Record until the stream ends, fails or the daemon stops; True if a segment was kept."""
        import av

        container = av.open(self.source.url, timeout=(OPEN_TIMEOUT, self._read_timeout))
        try:
            return self._record(container)
        finally:
            with contextlib.suppress(Exception):
                container.close()

    # --- segments --------------------------------------------------------------------

    def _record(self, container: Any) -> bool:
        if not container.streams.video:
            raise RingfenceError("the stream has no video")
        video = container.streams.video[0]
        streams = [video]
        if self.source.audio and container.streams.audio:
            streams.append(container.streams.audio[0])
        self._set(state="recording", last_error=None)
        segment: _Segment | None = None
        kept = False
        started = time.monotonic()
        try:
            for packet in container.demux(streams):
                if self._stopping.is_set():
                    break
                if not _timed(packet, started):
                    self._count("dropped_packets")
                    continue
                seconds = float(packet.dts * packet.time_base)
                if (
                    packet.stream is video
                    and packet.is_keyframe
                    and (segment is None or seconds - segment.start >= self.source.segment_seconds)
                ):
                    if segment is not None:
                        kept |= self._finish(segment)
                    segment = _Segment(self._sink, self.source, streams, seconds, self._clock())
                    if segment.audio_note:
                        self._set(audio=segment.audio_note)
                if segment is not None and not segment.mux(packet):
                    self._count("dropped_packets")
        finally:
            if segment is not None:
                kept |= self._finish(segment)
        return kept

    def _finish(self, segment: _Segment) -> bool:
        try:
            sealed = segment.close()
        except RingfenceError as exc:
            log.warning("stream of %s: a segment was not kept: %s", self.source.camera, exc.message)
            self._set(last_error=self._describe(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - the muxer's own failure
            segment.abort()
            log.warning(
                "stream of %s: a segment was not kept: %s", self.source.camera, self._describe(exc)
            )
            self._set(last_error=self._describe(exc))
            return False
        if sealed is None:
            return False
        self._count("segments")
        self._set(last_segment_at=iso(self._clock()))
        log.info(
            "stream of %s: segment %s sealed (%d bytes%s)",
            self.source.camera,
            sealed.clip_id,
            sealed.size,
            ", truncated" if sealed.truncated else "",
        )
        return True


def _timed(packet: Any, started: float) -> bool:
    """Whether *packet* can be muxed: it has a time (a stream that gives none,
    such as MJPEG over HTTP, is timed by arrival) and a body."""
    if packet.size == 0:
        return False
    if packet.dts is None and packet.pts is None and packet.stream.codec_context.name == "mjpeg":
        packet.time_base = _WALL_TIME_BASE
        packet.pts = packet.dts = int((time.monotonic() - started) * 1000)
        return True
    return not (packet.dts is None or packet.pts is None or packet.time_base is None)


class _UploadWriter:
    """The file object PyAV writes the MP4 into: each write goes to the sealer."""

    def __init__(self, upload: ClipUpload) -> None:
        self.upload = upload
        self.error: BaseException | None = None
        self.written = 0

    def write(self, data: bytes) -> int:
        if self.error is not None:
            raise self.error
        try:
            self.upload.write(bytes(data))
        except BaseException as exc:
            self.error = exc  # PyAV turns it into a muxer error; we raise the cause
            raise
        self.written += len(data)
        return len(data)

    def seekable(self) -> bool:
        return False


class _Segment:
    """One segment being written: an MP4 muxer over one sealed upload."""

    def __init__(
        self,
        sink: ClipSink,
        source: StreamSource,
        streams: list[Any],
        start: float,
        captured_at: datetime,
    ) -> None:
        import av

        self.start = start
        self.audio_note: str | None = None
        name = f"{source.camera}_{captured_at:%Y%m%d_%H%M%S}.mp4"
        self._upload = sink.begin(source.camera, name, source="stream", captured_at=captured_at)
        self._writer = _UploadWriter(self._upload)
        try:
            self._out = av.open(
                self._writer, mode="w", format="mp4", options={"movflags": MOVFLAGS}
            )
            self._map: dict[int, Any] = {}
            for s in streams:
                try:
                    self._map[s.index] = self._out.add_stream_from_template(s)
                except (ValueError, av.FFmpegError):
                    if s.type != "audio":
                        raise
                    self.audio_note = f"left out: MP4 cannot hold {s.codec_context.name} sound"
        except BaseException:
            self._upload.abort()
            raise
        self._last: dict[int, int] = {}
        self._muxed = 0

    def mux(self, packet: Any) -> bool:
        """Copy *packet* in, its time rebased to the segment's start; False if dropped."""
        import av

        key = packet.stream.index
        out = self._map.get(key)
        if out is None:
            return True  # a track left out (sound MP4 cannot hold)
        offset = round(Fraction(self.start) / Fraction(packet.time_base))
        dts, pts = packet.dts - offset, packet.pts - offset
        last = self._last.get(key)
        if dts < 0 or pts < dts or (last is not None and dts <= last):
            return False
        packet.dts, packet.pts = dts, pts
        packet.stream = out
        try:
            self._out.mux(packet)
        except av.FFmpegError:
            if self._writer.error is not None:
                raise self._writer.error from None
            return False
        self._last[key] = dts
        self._muxed += 1
        return True

    def close(self) -> Any:
        """Finish the MP4 and record the clip; None when nothing was muxed."""
        if self._muxed == 0:
            self.abort()
            return None
        try:
            self._out.close()
        except Exception:
            if self._writer.error is not None:
                raise self._writer.error from None
            raise
        if self._writer.error is not None:
            raise self._writer.error
        return self._upload.commit()

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._out.close()
        self._upload.abort()
