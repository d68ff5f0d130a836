"""Media facts and a wholeness check for a clip read once, as its bytes pass.

An upload is sealed as it arrives, so nothing can seek back into it later.
:class:`PassingProbe` keeps, as the bytes go by, exactly what
:func:`vault.media.probe_stream` would seek to: the first :data:`HEAD_KEEP`
bytes, every ISO BMFF top-level box header and the first bytes of 'moov'
(wherever it is: cameras often write it last). At the end it answers the
probe from those pieces and says whether the clip is **whole**:

- MP4/MOV: the top-level boxes tile the file exactly (none runs past the
  end) and a 'moov' is among them; a cut-short fragmented MP4 ends inside a
  'moof' or 'mdat', a cut-short plain one lacks its 'moov' or ends in 'mdat';
- AVI: the RIFF size covers exactly the bytes received;
- MPEG-TS: whole 188-byte packets, each starting with the sync byte;
- Matroska/WebM: a Segment of known size ends exactly at the end (a live
  recording's unknown-size Segment cannot tell: unknown);
- anything else: unknown (``None``), never guessed.

Memory is bounded: the head, at most :data:`MAX_BOXES` box headers and
:data:`MOOV_KEEP` bytes of 'moov'.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from vault.media.common import MediaFacts, u32, u64
from vault.media.mp4 import TOP_LEVEL

HEAD_KEEP = 1024 * 1024
MOOV_KEEP = 4 * 1024 * 1024
MAX_BOXES = 4096
_TS = 188
_EBML, _SEGMENT = b"\x1a\x45\xdf\xa3", b"\x18\x53\x80\x67"


@dataclass(frozen=True)
class PassedClip:
    facts: MediaFacts
    #: True: whole; False: cut short (its bytes are kept, flagged); None: cannot tell.
    whole: bool | None
    why: str = ""  # what is missing, when not whole


class _Pieces(io.RawIOBase):
    """A read-only, seekable view of the kept pieces; bytes not kept read as the end."""

    def __init__(self, pieces: list[tuple[int, bytes]]) -> None:
        self._pieces = sorted(pieces)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._pos = offset if whence == io.SEEK_SET else self._pos + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        for start, data in self._pieces:
            if start <= self._pos < start + len(data):
                at = self._pos - start
                out = data[at:] if n < 0 else data[at : at + n]
                self._pos += len(out)
                return out
        return b""


class PassingProbe:
    """Feed every byte of a clip in order with :meth:`feed`, then call :meth:`finish`."""

    def __init__(self) -> None:
        self._head = bytearray()
        self._size = 0
        self._kind: str | None = None  # "mp4", "avi", "mpegts", "matroska", "other"
        # ISO BMFF walk: where the next top-level box starts and its header bytes so far.
        self._next_box = 0
        self._box_header = bytearray()
        self._boxes: list[tuple[int, bytes]] = []
        self._moov_seen = False
        self._moov_at = -1  # file offset of moov's payload
        self._moov = bytearray()
        self._moov_want = 0
        self._lost = ""  # why the walk gave up (then wholeness is unknown or false)
        self._ts_bad = False
        self._open_ended = False

    def feed(self, data: bytes) -> None:
        start = self._size
        self._size += len(data)
        if len(self._head) < HEAD_KEEP:
            self._head += data[: HEAD_KEEP - len(self._head)]
        if self._kind is None and len(self._head) >= min(HEAD_KEEP, 200):
            self._kind = _kind_of(bytes(self._head))
        if self._kind in (None, "mp4"):
            self._walk(start, data)
        elif self._kind == "mpegts" and not self._ts_bad:
            self._check_ts(start, data)

    # -- ISO BMFF ------------------------------------------------------------------

    def _walk(self, start: int, data: bytes) -> None:
        end = start + len(data)
        if self._moov_want and self._moov_at >= 0:
            self._keep_moov(start, data)
        while not self._lost and self._next_box < end:
            at = self._next_box + len(self._box_header)
            if at < start:  # cannot happen: headers are collected as they pass
                self._lost = "the box walk lost its place"
                return
            need = 16 if len(self._box_header) >= 8 and u32(bytes(self._box_header), 0) == 1 else 8
            take = data[at - start : at - start + need - len(self._box_header)]
            if not take:
                return
            self._box_header += take
            if len(self._box_header) < need:
                if len(self._box_header) == 8 and u32(bytes(self._box_header), 0) == 1:
                    continue  # a 64-bit size follows
                return
            self._box(self._next_box, bytes(self._box_header))
            self._box_header.clear()
            if self._moov_want and self._moov_at >= 0:
                self._keep_moov(start, data)

    def _box(self, offset: int, header: bytes) -> None:
        size, kind = u32(header, 0), header[4:8]
        header_len = 8
        if size == 1:
            size, header_len = u64(header, 8), 16
        if len(self._boxes) >= MAX_BOXES:
            self._lost = "too many top-level boxes"
            return
        self._boxes.append((offset, header))
        if size == 0:  # the last box: it runs to the end of the file
            self._open_ended = True
            if kind == b"moov":
                self._start_moov(offset + header_len, MOOV_KEEP)
            self._next_box = 1 << 62
            return
        if size < header_len:
            self._lost = "a box with an impossible size"
            return
        if kind == b"moov":
            self._start_moov(offset + header_len, size - header_len)
        self._next_box = offset + size

    def _start_moov(self, at: int, length: int) -> None:
        self._moov_seen = True
        if self._moov_at < 0:
            self._moov_at, self._moov_want = at, min(length, MOOV_KEEP)

    def _keep_moov(self, start: int, data: bytes) -> None:
        have = self._moov_at + len(self._moov)
        if have < start or have >= start + len(data):
            return
        self._moov += data[have - start : have - start + self._moov_want - len(self._moov)]
        if len(self._moov) >= self._moov_want:
            self._moov_want = 0

    def _mp4_whole(self) -> tuple[bool | None, str]:
        if self._lost:
            return False, self._lost
        if self._box_header:
            return False, "it ends inside a box header"
        if not self._moov_seen:
            return False, "it has no 'moov' (the index a player needs)"
        if self._open_ended:
            return True, ""  # a last box declared to run to the end
        if self._next_box != self._size:
            last = self._boxes[-1][1][4:8].decode("latin-1") if self._boxes else "?"
            return False, f"its last box ('{last}') runs past the end"
        return True, ""

    # -- MPEG-TS ---------------------------------------------------------------------

    def _check_ts(self, start: int, data: bytes) -> None:
        first = -start % _TS
        if any(data[i] != 0x47 for i in range(first, len(data), _TS)):
            self._ts_bad = True

    # -- the answer --------------------------------------------------------------------

    def finish(self) -> PassedClip:
        from vault.media import probe_stream

        head = bytes(self._head)
        kind = self._kind if self._kind is not None else _kind_of(head)
        pieces = [(0, head)] + self._boxes
        if self._moov:
            pieces.append((self._moov_at, bytes(self._moov)))
        facts = probe_stream(_Pieces(pieces), self._size)  # type: ignore[arg-type]
        whole: bool | None
        why = ""
        if self._size == 0:
            whole, why = False, "it is empty"
        elif kind == "mp4":
            whole, why = self._mp4_whole()
        elif kind == "avi":
            declared = 8 + int.from_bytes(head[4:8], "little")
            whole = declared == self._size
            why = "" if whole else f"its RIFF size says {declared} bytes, {self._size} arrived"
        elif kind == "mpegts":
            whole = not self._ts_bad and self._size % _TS == 0
            why = "" if whole else "it ends inside a transport packet"
        elif kind == "matroska":
            whole, why = _matroska_whole(head, self._size)
        else:
            whole = None
        return PassedClip(facts, whole, why)


def _kind_of(head: bytes) -> str:
    if len(head) >= 8 and head[4:8] in TOP_LEVEL:
        return "mp4"
    if head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"AVIX"):
        return "avi"
    if head.startswith(_EBML):
        return "matroska"
    if len(head) > _TS and head[0] == 0x47 and head[_TS] == 0x47:
        return "mpegts"
    return "other"


def _vint(buf: bytes, pos: int) -> tuple[int | None, int] | None:
    if pos >= len(buf) or buf[pos] == 0:
        return None
    length = 9 - buf[pos].bit_length()
    if pos + length > len(buf):
        return None
    value = int.from_bytes(buf[pos : pos + length], "big") & ((1 << (7 * length)) - 1)
    return (None if value == (1 << (7 * length)) - 1 else value), length


def _matroska_whole(head: bytes, size: int) -> tuple[bool | None, str]:
    """The EBML header, then the Segment: whole if its declared size ends at *size*."""
    header = _vint(head, 4)
    if header is None or header[0] is None:
        return None, ""
    pos = 4 + header[1] + header[0]
    if head[pos : pos + 4] != _SEGMENT:
        return None, ""
    seg = _vint(head, pos + 4)
    if seg is None:
        return None, ""
    if seg[0] is None:
        return None, ""  # unknown size: a live recording cannot say
    end = pos + 4 + seg[1] + seg[0]
    if end == size:
        return True, ""
    return False, f"its Segment declares {end} bytes, {size} arrived"
