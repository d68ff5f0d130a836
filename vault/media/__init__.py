"""Media facts (container, duration, size, codec) read from a clip's own bytes.

The ingest pipeline records these facts for every clip it seals, so this module
is pure Python and needs nothing beyond the standard library: the daemon must
run without PyAV. It reads headers, never decodes pictures.

Clips come from cameras, half-written files and whatever else lands in a drop
folder, so every input is treated as hostile. :func:`probe_stream` never
raises, reads at most :data:`MAX_READ` bytes, looks at no more than
:data:`MAX_ELEMENTS` boxes or elements, never allocates from a size the file
declares, and never recurses: each format is walked along a fixed path of
known parents. Anything unreadable is reported as ``None``.

Codecs are reported by family name (``"h264"``, ``"hevc"``, ``"mpeg4"``,
``"mjpeg"``, ``"vp8"``, ``"vp9"``, ``"av1"``, ``"prores"``) whatever tag the
container uses for them; an unknown tag is reported as it appears in the file.
See docs/media.md.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from vault.media.common import MAX_ELEMENTS, MAX_READ, Facts, MediaFacts, Source
from vault.media.sniff import HEAD, recognise

__all__ = ["MAX_ELEMENTS", "MAX_READ", "MediaFacts", "probe", "probe_stream"]


def probe(path: Path) -> MediaFacts:
    """Facts about the clip at ``path``; empty facts if it cannot be opened or read.

    Only regular files are read: a FIFO or device in a drop folder must not
    block or feed the ingest loop forever.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except (OSError, ValueError):
        return MediaFacts()
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return MediaFacts()
        with os.fdopen(fd, "rb", buffering=0) as f:
            fd = -1  # now owned by f
            return probe_stream(f, st.st_size)
    except (OSError, ValueError):
        return MediaFacts()
    finally:
        if fd >= 0:
            os.close(fd)


def probe_stream(f: BinaryIO, size: int) -> MediaFacts:
    """Facts about the ``size`` bytes readable from the seekable stream ``f``.

    Never raises: a failing stream, garbage or a truncated file give ``None``
    for whatever could not be read, keeping whatever was read before.
    """
    facts = Facts()
    try:
        src = Source(f, size)
        head = src.read(0, HEAD)
        kind = recognise(head)
        if kind is None:
            return facts.freeze()
        container, parse = kind
        facts.container = container
        if parse is not None:
            parse(src, head, facts)
    except Exception:  # noqa: BLE001 - the contract is "never raise"; keep what was read
        return facts.freeze()
    return facts.freeze()
