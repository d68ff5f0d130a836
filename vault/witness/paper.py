"""A checkpoint on paper: printed as a QR code, typed back in by hand.

A checkpoint kept away from every computer is the strongest copy there is:
no malware can edit a sheet in a drawer. ``audit checkpoint --qr`` prints the
signed checkpoint as a QR code (``--qr-png`` writes one to print), with its
three lines below in plain text. Later, ``audit consistency --size N --root B64``
checks the log against the lines read off that paper.

The typed checkpoint carries no signature (nobody types 64 bytes of base64
reliably), so it is trusted as much as the paper is: it says "this log had
this root at this size", and the check proves that today's log, re-hashed
from its entries, still has that root at that size and extends it to the
newest signed checkpoint.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any, TextIO

from vault.audit.note import Checkpoint, NoteError, b64decode_strict
from vault.errors import UsageError
from vault.fsutil import write_atomic
from vault.safetext import shown


def _qr(note: str) -> Any:
    try:
        import segno
    except ImportError:
        raise UsageError(
            "QR codes need the segno package: pip install 'ringfence[witness]'"
        ) from None
    # Error level M: a crease or a smudge on the paper still scans.
    return segno.make(note, error="m", micro=False)


def qr_terminal(note: str, out: TextIO) -> None:
    """*note* as a QR code drawn with block characters (two rows per line)."""
    _qr(note).terminal(out=out, compact=True, border=4)


def qr_png(note: str, scale: int = 6) -> bytes:
    """*note* as a QR code in a PNG file, *scale* pixels a module."""
    buf = io.BytesIO()
    _qr(note).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


def print_qr(note: str, out: TextIO | None, png: Path | None) -> None:
    """Draw *note* on *out* and/or write it as a PNG file *png* (0644: it is public)."""
    if out is not None:
        out.write("\n")
        qr_terminal(note, out)
    if png is not None:
        write_atomic(png, qr_png(note), mode=0o644, share=False)
        print(f"wrote the QR code to {shown(png)}", file=sys.stderr)


def is_typed(file: Path | None, size: int | None, root: str | None, origin: str | None) -> bool:
    """True when the command line names a typed checkpoint rather than a FILE."""
    typed = size is not None or root is not None or origin is not None
    if typed and file is not None:
        raise UsageError("give either FILE or a typed checkpoint (--size, --root), not both")
    if not typed and file is None:
        raise UsageError("give FILE, or a checkpoint typed from paper with --size and --root")
    if typed and (size is None or root is None):
        raise UsageError("a typed checkpoint needs both --size and --root")
    return typed


def paper_checkpoint(origin: str, size: int, root_text: str) -> Checkpoint:
    """A checkpoint from typed lines; spaces and line breaks in the root are dropped."""
    root_b64 = "".join(root_text.split())
    try:
        root = b64decode_strict(root_b64, "--root")
        return Checkpoint(origin, size, root)
    except NoteError as exc:
        raise UsageError(exc.message) from None
