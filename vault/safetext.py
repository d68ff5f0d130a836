"""Text from outside, made safe to print and to store.

Two jobs, one rule about which characters are dangerous:

* :func:`shown` escapes a file name or any outside text for a message on a
  terminal or in a text file. A name can carry terminal escapes, a line break
  that fakes a second message, bidi controls that reverse what the reader
  sees, or bytes that are not UTF-8; each becomes a visible ``\\xNN`` or
  ``\\uNNNN`` escape.
* :func:`text_problem` says why a request field must be refused. A one-line
  field (a name, a reference) takes no line break at all; a multi-line field
  (a reason) takes newlines and tabs, and nothing else from the list.

Dangerous characters: C0 controls and DEL, C1 controls (U+0080–U+009F), the
Unicode line and paragraph separators, the bidi embeddings, overrides,
isolates and marks (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069), and lone
surrogates (how Python carries undecodable bytes of a file name).
"""

from __future__ import annotations

import os
from pathlib import PurePath

#: Bidi controls: each can make a line read differently from what it holds.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
#: Characters that start a new line on some terminal or viewer.
LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
#: What a multi-line field (a reason, terms) may hold beyond printable text.
MULTI_LINE_ALLOWED = frozenset("\n\t")


def is_dangerous(ch: str) -> bool:
    """Whether *ch* may change how the text around it is displayed."""
    o = ord(ch)
    return (
        o < 0x20
        or 0x7F <= o <= 0x9F
        or ch in BIDI_CONTROLS
        or ch in LINE_BREAKS
        or 0xD800 <= o <= 0xDFFF
    )


def _escape(ch: str) -> str:
    o = ord(ch)
    if 0xDC80 <= o <= 0xDCFF:  # an undecodable byte of a file name (surrogateescape)
        return f"\\x{o - 0xDC00:02x}"
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def shown(value: str | PurePath | bytes) -> str:
    """*value* as text that is safe to print on one line: every dangerous
    character, and every byte that is not UTF-8, shown as an escape."""
    if isinstance(value, bytes):
        text = value.decode("utf-8", "backslashreplace")
    else:
        text = os.fspath(value) if isinstance(value, PurePath) else value
    if not any(is_dangerous(ch) for ch in text):
        return text
    return "".join(_escape(ch) if is_dangerous(ch) else ch for ch in text)


def shown_lines(text: str) -> list[str]:
    """A multi-line text as its lines, each safe to print (tabs kept)."""
    return [
        "".join(_escape(ch) if is_dangerous(ch) and ch != "\t" else ch for ch in line)
        for line in text.split("\n")
    ]


def text_problem(value: str, *, multi_line: bool) -> str | None:
    """Why *value* may not be stored in a request field, or None when it may."""
    for ch in value:
        if multi_line and ch in MULTI_LINE_ALLOWED:
            continue
        if not is_dangerous(ch):
            continue
        code = f"U+{ord(ch):04X}"
        if multi_line and ch in LINE_BREAKS:
            return f"contains a line break other than a newline ({code})"
        if ch in LINE_BREAKS or ch == "\t":
            kind = "a line break" if ch in LINE_BREAKS else "a tab"
            return f"contains {kind} ({code}); this field is one line"
        if ch in BIDI_CONTROLS:
            return f"contains a bidi control ({code}) that would reorder the text"
        return f"contains a control character ({code})"
    return None
