"""The public age API of ringfence: age v1 files, keys and split headers.

Everything here is implemented in :mod:`vault.crypto` (see docs/age.md); this
module is the one place the rest of the vault imports it from.
"""

from vault.crypto.age import (
    Identity,
    Recipient,
    ScryptIdentity,
    ScryptRecipient,
    X25519Identity,
    X25519Recipient,
    decrypt,
    decrypt_bytes,
    decrypt_payload,
    encrypt,
    encrypt_bytes,
    encrypt_split,
    generate_identity,
    parse_identities_file,
    parse_identity,
    parse_recipient,
    read_header,
    rewrap,
    unwrap_file_key,
)
from vault.errors import (
    AgeError,
    ArmorError,
    HeaderError,
    KeyFormatError,
    MACError,
    NoMatchingIdentity,
    PayloadError,
)

__all__ = [
    "AgeError",
    "ArmorError",
    "HeaderError",
    "Identity",
    "KeyFormatError",
    "MACError",
    "NoMatchingIdentity",
    "PayloadError",
    "Recipient",
    "ScryptIdentity",
    "ScryptRecipient",
    "X25519Identity",
    "X25519Recipient",
    "decrypt",
    "decrypt_bytes",
    "decrypt_payload",
    "encrypt",
    "encrypt_bytes",
    "encrypt_split",
    "generate_identity",
    "parse_identities_file",
    "parse_identity",
    "parse_recipient",
    "read_header",
    "rewrap",
    "unwrap_file_key",
]
