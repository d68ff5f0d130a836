"""age v1 (c2sp.org/age) on top of ``cryptography``.

One module per idea, in the layering of the reference implementation
(FiloSottile/age):

- :mod:`vault.crypto.primitives`: HKDF, HMAC, ChaCha20-Poly1305 key wrapping,
  strict unpadded base64.
- :mod:`vault.crypto.bech32`: BIP173 Bech32 for ``age1…`` / ``AGE-SECRET-KEY-1…``.
- :mod:`vault.crypto.format`: the textual header as pure bytes.
- :mod:`vault.crypto.x25519`, :mod:`vault.crypto.scrypt`: one recipient type each.
- :mod:`vault.crypto.stream`: the chunked STREAM payload.
- :mod:`vault.crypto.armor`: the strict PEM armor.
- :mod:`vault.crypto.age`: the high-level API, re-exported by :mod:`vault.age`.
"""
