"""Identifiers: a short type prefix and 80 random bits in lowercase base32."""

from __future__ import annotations

import base64
import re
import secrets

PREFIXES = {
    "clip": "clp",
    "request": "req",
    "attachment": "att",
    "decision": "dec",
    "export": "exp",
    "hold": "hld",
    "deletion": "del",
    "vault": "vlt",
}
_ID = re.compile(r"^[a-z]{3}_[a-z2-7]{16}$")


def new_id(kind: str) -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()
    return f"{PREFIXES[kind]}_{raw}"


def looks_like_id(text: str, kind: str | None = None) -> bool:
    if not _ID.match(text):
        return False
    return kind is None or text.startswith(PREFIXES[kind] + "_")
