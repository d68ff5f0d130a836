"""The only module that imports watchdog: it turns file-system events into
paths on a queue. Callbacks do nothing else; all decisions happen in the daemon."""

from __future__ import annotations

import queue
from collections.abc import Iterable
from pathlib import Path

from watchdog.events import (
    FileClosedEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

# Event kinds put on the queue.
CLOSED = "closed"  # a writer closed the file: ready now
CHANGED = "changed"  # created or modified: watch until it settles


class _Handler(FileSystemEventHandler):
    def __init__(self, out: queue.Queue[tuple[str, str]]) -> None:
        self._out = out

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        if isinstance(event, FileClosedEvent):
            self._out.put((CLOSED, _text(event.src_path)))
        elif isinstance(event, FileMovedEvent):
            # A rename into place (atomic writers) means the file is complete.
            self._out.put((CLOSED, _text(event.dest_path)))
        elif isinstance(event, FileCreatedEvent | FileModifiedEvent):
            self._out.put((CHANGED, _text(event.src_path)))


def _text(path: str | bytes) -> str:
    import os

    return os.fsdecode(path)


class FolderWatcher:
    """Watches folders recursively and queues (kind, path) tuples."""

    def __init__(self, out: queue.Queue[tuple[str, str]]) -> None:
        self._observer = Observer()
        self._handler = _Handler(out)

    def start(self, folders: Iterable[Path]) -> dict[Path, OSError]:
        """Start watching *folders*; returns those that could not be watched
        (a folder that vanished since it was checked) with the reason. The
        others are watched all the same."""
        self._observer.start()
        failed: dict[Path, OSError] = {}
        for folder in folders:
            try:
                self._observer.schedule(self._handler, str(folder), recursive=True)
            except OSError as exc:
                failed[folder] = exc
        return failed

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)
