"""BIP173 Bech32 (not Bech32m), as age uses it for keys.

age departs from BIP173 in one way only: there is no 90-character limit, since
post-quantum keys are much longer. Everything else is kept strict: a string is
all lowercase or all uppercase (never mixed), the checksum is computed over the
lowercase form with the Bech32 constant 1, and the 5-to-8-bit conversion
rejects more than four bits of padding or non-zero padding bits, so each key
has exactly one spelling in each case.
"""

from __future__ import annotations

from vault.errors import KeyFormatError

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_CHARSET_INDEX = {c: i for i, c in enumerate(CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_BECH32_CONST = 1  # Bech32m would be 0x2BC830A3: age keys are plain Bech32.
_CHECKSUM_LEN = 6


def _polymod(values: list[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _GENERATOR[i]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: bytes | list[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    acc = 0
    bits = 0
    out: list[int] = []
    maxv = (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (to_bits - bits)) & maxv)
    elif bits >= from_bits:
        raise KeyFormatError("bech32: more than four bits of padding in the data part")
    elif (acc << (to_bits - bits)) & maxv:
        raise KeyFormatError("bech32: non-zero padding bits in the data part")
    return out


def _check_hrp(hrp: str) -> None:
    if not hrp:
        raise KeyFormatError("bech32: the human-readable part is empty")
    if any(not 33 <= ord(c) <= 126 for c in hrp):
        raise KeyFormatError("bech32: the human-readable part has a character outside 33..126")


def encode(hrp: str, data: bytes) -> str:
    """Encode *data* under *hrp*; the result has the case of *hrp*.

    An uppercase *hrp* (``AGE-SECRET-KEY-``) gives an all-uppercase string, as
    age writes identities; the checksum is always over the lowercase form.
    """
    _check_hrp(hrp)
    if hrp.lower() != hrp and hrp.upper() != hrp:
        raise KeyFormatError("bech32: the human-readable part mixes upper and lower case")
    lower_hrp = hrp.lower()
    values = _convert_bits(data, 8, 5, pad=True)
    polymod = _polymod(_hrp_expand(lower_hrp) + values + [0] * _CHECKSUM_LEN) ^ _BECH32_CONST
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(_CHECKSUM_LEN)]
    text = lower_hrp + "1" + "".join(CHARSET[v] for v in values + checksum)
    return text.upper() if hrp.isupper() else text


def decode(text: str) -> tuple[str, bytes]:
    """Decode a Bech32 string into (hrp as written, data bytes).

    The hrp keeps the case it was written in, so callers can insist on the
    case age uses for each key kind. Raises KeyFormatError naming the rule.
    """
    if not isinstance(text, str):
        raise KeyFormatError("bech32: a key must be a string")
    if text.lower() != text and text.upper() != text:
        raise KeyFormatError("bech32: mixed upper and lower case")
    pos = text.rfind("1")
    if pos < 1:
        raise KeyFormatError("bech32: missing separator '1' or empty human-readable part")
    if pos + 1 + _CHECKSUM_LEN > len(text):
        raise KeyFormatError("bech32: the data part is shorter than the checksum")
    hrp = text[:pos]
    _check_hrp(hrp)
    lower = text.lower()
    try:
        values = [_CHARSET_INDEX[c] for c in lower[pos + 1 :]]
    except KeyError:
        raise KeyFormatError("bech32: the data part has a character outside the charset") from None
    if _polymod(_hrp_expand(lower[:pos]) + values) != _BECH32_CONST:
        raise KeyFormatError("bech32: bad checksum (or a Bech32m string)")
    data = _convert_bits(values[:-_CHECKSUM_LEN], 5, 8, pad=False)
    return hrp, bytes(data)
