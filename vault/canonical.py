"""Canonical JSON: the RFC 8785 (JCS) subset ringfence hashes and signs.

Audit entries and consent receipts are hashed or signed as bytes, so one value
must have exactly one encoding. We follow RFC 8785 restricted to the values we
use: objects with string keys, arrays, strings, integers, booleans and null.

* Object members are sorted by the UTF-16 code units of their names (RFC 8785
  §3.2.3), which differs from code-point order once a name holds a character
  above U+FFFF next to one in U+E000..U+FFFF.
* No whitespace between tokens; the output is UTF-8 and non-ASCII characters are
  written as themselves.
* Strings escape only ``"``, ``\\`` and the controls below U+0020: ``\\b \\f \\n
  \\r \\t`` in their short form, the rest as ``\\u00xx`` in lowercase hex.
* Floats are refused: JCS would need the ECMAScript number formatter, and
  nothing we log is fractional (durations and sizes are integers or strings).
* Integers must fit in an IEEE 754 double exactly (|n| <= 2**53 - 1, I-JSON), so
  any RFC 8785 implementation encodes them the same way.
* Strings must be valid Unicode: no lone surrogates, which have no UTF-8 form.
  This is not full I-JSON (RFC 7493): noncharacters such as U+FFFE, U+FFFF
  and U+FDD0..U+FDEF are accepted, because request text is hostile input
  that the log and the receipts must record as it was given, and entries
  already written with them must stay verifiable. Their encoding is still
  unambiguous (their UTF-8 bytes), so every RFC 8785 encoder agrees on them.

:func:`parse_canonical` accepts only bytes that are already canonical: a
verifier must see exactly the bytes that were hashed, never a "cleaned up"
variant of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from vault.errors import IntegrityError

#: The largest integer magnitude an IEEE 754 double holds exactly (I-JSON).
MAX_SAFE_INTEGER = 2**53 - 1

_ESCAPES = {chr(c): f"\\u{c:04x}" for c in range(0x20)}
_ESCAPES.update(
    {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\\": "\\\\"}
)
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\]')

# In UTF-8, every character at or above U+E000 starts with a byte >= 0xEE. Only
# there can UTF-16 order differ from code-point order, so data without such a
# byte may be checked with the stdlib's (code-point) key sort.
_HIGH_CHAR = re.compile(rb"[\xee-\xff]")


def _utf16_key(name: str) -> bytes:
    # Big-endian UTF-16 bytes compare exactly like the sequence of code units.
    return name.encode("utf-16-be", "surrogatepass")


def _string(s: str) -> str:
    if _NEEDS_ESCAPE.search(s):
        s = _NEEDS_ESCAPE.sub(lambda m: _ESCAPES[m.group()], s)
    return '"' + s + '"'


def _emit(value: Any, out: list[str]) -> None:
    # bool before int: bool is a subclass of int but encodes as true/false.
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise ValueError(f"canonical JSON: integer {value} is outside ±(2**53 - 1)")
        out.append(str(int(value)))
    elif isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f"canonical JSON: object key {key!r} is not a string")
        out.append("{")
        first = True
        for key in sorted(value, key=_utf16_key):
            if not first:
                out.append(",")
            first = False
            out.append(_string(key))
            out.append(":")
            _emit(value[key], out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _emit(item, out)
        out.append("]")
    elif isinstance(value, float):
        raise TypeError("canonical JSON: floats are not allowed (use an integer or a string)")
    else:
        raise TypeError(f"canonical JSON: cannot encode {type(value).__name__}")


def canonical_json(obj: Any) -> bytes:
    """Encode *obj* as canonical JSON (UTF-8 bytes).

    Raises TypeError for a value outside the subset (float, bytes, non-string
    key, ...) and ValueError for an integer beyond ±(2**53 - 1) or a string that
    is not valid Unicode. Those are programming errors, not bad input.
    """
    out: list[str] = []
    try:
        _emit(obj, out)
    except RecursionError:
        raise ValueError("canonical JSON: nested too deeply") from None
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("canonical JSON: a string holds a lone surrogate") from None


class _Refused(Exception):
    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def _refuse_float(text: str) -> Any:
    raise _Refused(f"number {text} is not an integer")


def _refuse_constant(text: str) -> Any:
    raise _Refused(f"{text} is not JSON")


def _checked_int(text: str) -> int:
    # The length guard keeps int() away from huge digit strings.
    if len(text) > 17:
        raise _Refused("integer outside ±(2**53 - 1)")
    value = int(text)
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise _Refused("integer outside ±(2**53 - 1)")
    return value


_DECODER = json.JSONDecoder(
    parse_float=_refuse_float, parse_int=_checked_int, parse_constant=_refuse_constant
)
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, check_circular=False, allow_nan=False
)


def _make_fast_encoder() -> Callable[[Any], str]:
    """The stdlib's C encoder built once (JSONEncoder.encode builds it per call).

    Falls back to JSONEncoder.encode where the C accelerator is missing or
    its constructor differs; tests check both give the same bytes.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    basestring = getattr(json.encoder, "c_encode_basestring", None)
    if make is None or basestring is None:
        return _ENCODER.encode
    try:
        c_encode = make(None, _ENCODER.default, basestring, None, ":", ",", True, False, False)
        probe = {"b": [1, None, True], "a": "\u00e9\n"}
        if "".join(c_encode(probe, 0)) != _ENCODER.encode(probe):
            return _ENCODER.encode
    except Exception:  # an interpreter whose private constructor differs
        return _ENCODER.encode
    return lambda obj: "".join(c_encode(obj, 0))


_fast_encode = _make_fast_encoder()
_scan_once = _DECODER.scan_once  # type: ignore[attr-defined]


def parse_canonical(data: bytes) -> Any:
    """Parse canonical JSON, refusing anything that is not byte-identical to
    its canonical encoding (whitespace, key order, escapes, duplicate keys,
    floats, ``-0``, invalid UTF-8, lone surrogates).

    Raises :class:`vault.errors.IntegrityError` saying what was wrong.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise IntegrityError("canonical JSON: expected bytes")
    data = bytes(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IntegrityError(f"canonical JSON: not valid UTF-8 at byte {exc.start}") from None
    try:
        # The bare scanner: whitespace or trailing data shows up as a mismatch.
        obj, end = _scan_once(text, 0)
    except _Refused as exc:
        raise IntegrityError(f"canonical JSON: {exc.why}") from None
    except StopIteration as exc:
        raise IntegrityError(f"canonical JSON: not JSON (at char {exc.value})") from None
    except json.JSONDecodeError as exc:
        raise IntegrityError(f"canonical JSON: not JSON ({exc.msg} at char {exc.pos})") from None
    except (RecursionError, ValueError):
        raise IntegrityError("canonical JSON: not JSON (too deep or malformed)") from None
    try:
        if data.isascii() or not _HIGH_CHAR.search(data):
            # Fast path: with no character >= U+E000 the stdlib's key sort is
            # UTF-16 order and its escaping (ensure_ascii=False) is RFC 8785's.
            again = _fast_encode(obj).encode("utf-8")
        else:
            again = canonical_json(obj)
    except (TypeError, ValueError, UnicodeEncodeError, RecursionError):
        raise IntegrityError("canonical JSON: holds a value outside the canonical subset") from None
    if end != len(text) or again != data:
        raise IntegrityError(
            "canonical JSON: not in canonical form "
            f"(first difference at byte {_first_difference(again, data)})"
        )
    return obj


def _first_difference(a: bytes, b: bytes) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))
