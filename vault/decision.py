"""The owner's signed decision: the facts a release depends on, under the owner's key.

Catalog rows and audit entries can be written by anyone who can write the
vault's files; the owner's Ed25519 key cannot be used without the passphrase.
So a decision is signed inside the transaction that records it, over every fact
an export later relies on: who asked, on what basis, for what scope, to which
age recipient a delivery is encrypted, what was decided, until when, and the
exact clips with their hashes. Export verifies that signature with the key in
memory and compares the signed facts with the catalog; anything that differs
stops the release. Pure values in and out: the service reads the catalog.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vault import receipts
from vault.errors import IntegrityError

VERSION = "ringfence-decision/1"
#: Domain separation: a signed decision can never pass for a receipt, nor the reverse.
SIGNING_CONTEXT = b"ringfence-decision/1\n"

#: How an owner re-decides a request whose decision carries no valid signature.
RESIGN_HINT = (
    "look at the request again and decide anew: "
    "`ringfence request reopen {id} --reason TEXT`, then approve or refuse it"
)


def statement(
    origin: str,
    request: dict[str, Any],
    decision: dict[str, Any],
    clips: list[dict[str, Any]],
) -> dict[str, Any]:
    """The canonical facts of one decision, ready to sign or to compare."""
    return {
        "version": VERSION,
        "vault_origin": origin,
        "request": request,
        "decision": decision,
        "clips": clips,
    }


def sign(facts: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """*facts* with the owner's signature."""
    return receipts.sign(facts, key, context=SIGNING_CONTEXT)


def verify(signed: Any, owner_public: bytes) -> dict[str, Any]:
    """The signed facts, if *signed* carries a valid signature by *owner_public*.

    Raises IntegrityError naming what failed. *owner_public* must come from the
    unlocked key in memory, never from a file an attacker could replace.
    """
    if not isinstance(signed, dict) or signed.get("version") != VERSION:
        raise IntegrityError("it carries no signed decision")
    receipts.check_signature(
        signed, owner_public, context=SIGNING_CONTEXT, what="the signed decision"
    )
    return {k: v for k, v in signed.items() if k != "signature"}


def differences(signed: dict[str, Any], catalog: dict[str, Any], where: str = "") -> list[str]:
    """The dotted names of every fact in which *catalog* differs from *signed*."""
    if isinstance(signed, dict) and isinstance(catalog, dict):
        out: list[str] = []
        for key in sorted(set(signed) | set(catalog)):
            name = f"{where}.{key}" if where else key
            if key not in signed or key not in catalog:
                out.append(name)
            else:
                out += differences(signed[key], catalog[key], name)
        return out
    if isinstance(signed, list) and isinstance(catalog, list) and len(signed) == len(catalog):
        out = []
        for i, (a, b) in enumerate(zip(signed, catalog, strict=True)):
            out += differences(a, b, f"{where}[{i}]")
        return out
    return [] if type(signed) is type(catalog) and signed == catalog else [where or "(all)"]
