"""An independent check of witness cosignatures, written from the C2SP texts alone.

It deliberately shares no code with ``vault/audit/note.py`` or
``vault/witness``: if both had the same misreading of the spec, a test
comparing them with each other would pass. Only hashlib, base64, struct and
the Ed25519 primitive.

* c2sp.org/tlog-cosignature: the key ID is SHA-256(name || "\\n" || 0x04 ||
  32-byte public key)[:4]; the signature is a u64 big-endian timestamp and a
  64-byte Ed25519 signature over "cosignature/v1\\n" "time <ts>\\n" followed by
  the checkpoint's note text.
* c2sp.org/signed-note: a signature line is U+2014, a space, the key name, a
  space, base64(key ID || signature); a verifier key is
  name+hex(key ID)+base64(type || public key).
"""

from __future__ import annotations

import base64
import hashlib
import struct

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def parse_vkey(vkey: str) -> tuple[str, bytes, bytes]:
    name, hex_id, b64 = vkey.split("+", 2)
    raw = base64.b64decode(b64, validate=True)
    assert raw[0] == 0x04, "a cosignature verifier key has type 0x04"
    pub = raw[1:]
    assert len(pub) == 32
    key_id = hashlib.sha256(name.encode() + b"\n" + b"\x04" + pub).digest()[:4]
    assert key_id.hex() == hex_id, "the key ID in the verifier key is not the spec's"
    return name, key_id, pub


def check_cosignature(checkpoint_text: str, line: str, vkey: str) -> int:
    """Verify one cosignature line on a checkpoint's text; return its timestamp."""
    name, key_id, pub = parse_vkey(vkey)
    assert line.startswith("\u2014 "), "a signature line starts with an em dash and a space"
    signer, b64 = line[2:].rstrip("\n").split(" ")
    assert signer == name
    raw = base64.b64decode(b64, validate=True)
    assert len(raw) == 4 + 8 + 64
    assert raw[:4] == key_id
    (timestamp,) = struct.unpack(">Q", raw[4:12])
    assert timestamp < 2**63
    message = b"cosignature/v1\n" + f"time {timestamp}\n".encode() + checkpoint_text.encode()
    Ed25519PublicKey.from_public_bytes(pub).verify(raw[12:], message)  # raises if bad
    return timestamp
