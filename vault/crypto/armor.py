"""The age ASCII armor: strict RFC 7468 PEM with label ``AGE ENCRYPTED FILE``.

    -----BEGIN AGE ENCRYPTED FILE-----
    <padded base64, 64 columns per line, the last line 1 to 64 columns>
    -----END AGE ENCRYPTED FILE-----

PEM is malleable unless parsed strictly, so the only freedom accepted is the
one the spec allows: whitespace before the BEGIN line and after the END line,
and LF or CRLF line endings. Everything else (headers, empty lines, short or
long lines in the middle, spaces at either end of a line, missing or
non-canonical padding, a PGP-style checksum, other labels) is an ArmorError.

Both directions stream in constant memory. The reader decodes long runs of
full LF-terminated lines in one step and falls back to line-by-line checks
near the end and for CRLF files.
"""

from __future__ import annotations

import binascii
import io
from typing import BinaryIO

from vault.errors import ArmorError

LABEL = b"AGE ENCRYPTED FILE"
BEGIN = b"-----BEGIN " + LABEL + b"-----"
END = b"-----END " + LABEL + b"-----"
COLUMNS = 64
BYTES_PER_LINE = COLUMNS // 4 * 3
_WHITESPACE = b" \t\r\n\v\f"
_READ_SIZE = 64 * 1024
_MAX_LINE = 1024
_FULL_LINE = COLUMNS + 1  # 64 columns and LF


def _b64decode_line(line: bytes, final: bool) -> bytes:
    """Decode one armor line strictly; padding only on the final line."""
    if not final and len(line) != COLUMNS:
        raise ArmorError(f"armor: a line other than the last is not {COLUMNS} columns")
    if not line:
        raise ArmorError("armor: empty line inside the armored data")
    if len(line) > COLUMNS:
        raise ArmorError(f"armor: line longer than {COLUMNS} columns")
    if len(line) % 4:
        raise ArmorError("armor: base64 line is not padded to a multiple of 4 characters")
    if not final and b"=" in line:
        raise ArmorError("armor: '=' padding before the last line")
    try:
        data = binascii.a2b_base64(line, strict_mode=True)
    except (binascii.Error, ValueError):
        raise ArmorError("armor: invalid base64 character or padding") from None
    if binascii.b2a_base64(data, newline=False) != line:
        raise ArmorError("armor: base64 is not canonical")
    return data


class ArmorReader(io.RawIOBase):
    """Decodes an armored age file from *src*; raises ArmorError on any deviation.

    Wrap it in :class:`io.BufferedReader` for ``readline``; :func:`dearmor`
    does that.
    """

    def __init__(self, src: BinaryIO) -> None:
        super().__init__()
        self._src = src
        self._buf = bytearray()  # armored bytes read but not yet consumed
        self._eof = False  # src exhausted
        self._out = bytearray()  # decoded bytes not yet returned
        self._state = "begin"  # begin -> data -> done
        self._prev: bytes | None = None  # a data line waiting to learn if it is the last

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview | bytearray) -> int:  # type: ignore[override]
        view = memoryview(b).cast("B")
        try:
            while not self._out and self._state != "done":
                self._advance()
        except (ValueError, IndexError) as exc:
            raise ArmorError(f"armor: malformed input ({type(exc).__name__})") from None
        n = min(len(view), len(self._out))
        view[:n] = self._out[:n]
        del self._out[:n]
        return n

    # -- reading armored text -------------------------------------------------

    def _more(self) -> bool:
        if self._eof:
            return False
        data = self._src.read(_READ_SIZE)
        if not data:
            self._eof = True
            return False
        self._buf += data
        return True

    def _line(self) -> tuple[bytes, bool] | None:
        """The next line without its line ending, and whether it had one."""
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                line = bytes(self._buf[:nl])
                del self._buf[: nl + 1]
                if line.endswith(b"\r"):
                    line = line[:-1]
                if len(line) > _MAX_LINE:
                    raise ArmorError("armor: line too long")
                return line, True
            if len(self._buf) > _MAX_LINE:
                raise ArmorError("armor: line too long")
            if not self._more():
                if not self._buf:
                    return None
                line = bytes(self._buf)
                self._buf.clear()
                return line, False

    # -- the state machine ----------------------------------------------------

    def _advance(self) -> None:
        if self._state == "begin":
            self._read_begin()
        elif self._state == "data" and not self._fast_path():
            self._read_data_line()

    def _read_begin(self) -> None:
        while True:
            got = self._line()
            if got is None:
                raise ArmorError("armor: no '-----BEGIN AGE ENCRYPTED FILE-----' line")
            line, had_eol = got
            stripped = line.lstrip(_WHITESPACE)
            if not stripped:
                continue  # whitespace before the PEM block is allowed
            if stripped != BEGIN:
                raise ArmorError("armor: the file does not start with the BEGIN line")
            if not had_eol:
                raise ArmorError("armor: the file ends after the BEGIN line")
            self._state = "data"
            return

    def _fast_path(self) -> bool:
        """Decode a run of full LF lines at once, when one more data line follows."""
        if self._prev is not None:
            return False
        while len(self._buf) < 2 * _FULL_LINE and self._more():
            pass
        k = len(self._buf) // _FULL_LINE - 1
        if k < 1:
            return False
        region = memoryview(self._buf)[: k * _FULL_LINE]
        ok = (
            bytes(region[COLUMNS::_FULL_LINE]) == b"\n" * k
            and region.tobytes().count(b"\n") == k
            and bytes(self._buf[k * _FULL_LINE : k * _FULL_LINE + 1]) not in (b"-", b"\n", b"\r")
        )
        if not ok:
            region.release()
            return False
        text = region.tobytes().replace(b"\n", b"")
        region.release()
        if b"=" in text:
            return False
        try:
            self._out += binascii.a2b_base64(text, strict_mode=True)
        except (binascii.Error, ValueError):
            raise ArmorError("armor: invalid base64 character") from None
        del self._buf[: k * _FULL_LINE]
        return True

    def _read_data_line(self) -> None:
        got = self._line()
        if got is None:
            raise ArmorError("armor: no '-----END AGE ENCRYPTED FILE-----' line")
        line, had_eol = got
        if line == END:
            # No data lines is well-formed armor around zero bytes; the age
            # reader then finds no header (a header failure, as the age
            # test-vector suite classes ``armor_empty``).
            if self._prev is not None:
                self._out += _b64decode_line(self._prev, final=True)
            self._prev = None
            self._finish()
            return
        if line.startswith(b"-----"):
            raise ArmorError("armor: malformed END line (wrong label or spacing)")
        if not had_eol:
            raise ArmorError("armor: the file ends without an END line")
        if self._prev is not None:
            self._out += _b64decode_line(self._prev, final=False)
        if not line:
            raise ArmorError("armor: empty line inside the armored data")
        if len(line) > COLUMNS:
            raise ArmorError(f"armor: line longer than {COLUMNS} columns")
        self._prev = line

    def _finish(self) -> None:
        """After END only whitespace may follow."""
        while True:
            if self._buf.strip(_WHITESPACE):
                raise ArmorError("armor: data after the END line")
            self._buf.clear()
            if not self._more():
                break
        self._state = "done"


def dearmor(src: BinaryIO) -> io.BufferedReader:
    """A binary stream of the age file inside the armored *src*."""
    return io.BufferedReader(ArmorReader(src), buffer_size=_READ_SIZE)


class ArmorWriter:
    """Writes armored output to *dst*; call :meth:`close` to write the END line."""

    _BLOCK = BYTES_PER_LINE * 1024

    def __init__(self, dst: BinaryIO) -> None:
        self._dst = dst
        self._pending = bytearray()
        self._closed = False
        self._dst.write(BEGIN + b"\n")

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._closed:
            raise ValueError("write to a closed ArmorWriter")
        self._pending += data
        if len(self._pending) >= self._BLOCK:
            whole = len(self._pending) - len(self._pending) % BYTES_PER_LINE
            self._emit(bytes(self._pending[:whole]))
            del self._pending[:whole]
        return len(data)

    def _emit(self, data: bytes) -> None:
        text = binascii.b2a_base64(data, newline=False)
        lines = [text[i : i + COLUMNS] for i in range(0, len(text), COLUMNS)]
        self._dst.write(b"\n".join(lines) + b"\n")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._pending:
            self._emit(bytes(self._pending))
            self._pending.clear()
        self._dst.write(END + b"\n")
