"""The handover files: what lets someone who never heard of ringfence check a folder.

Beside ``receipt.json`` an export folder carries:

``receipt.signed``
    the exact bytes the owner's Ed25519 signature covers: the line
    ``ringfence-receipt/1`` and the canonical JSON of the receipt without its
    ``signature`` member;
``receipt.sig``
    the 64-byte signature itself;
``owner-key.pem``
    the owner's public key (SubjectPublicKeyInfo PEM), so that
    ``openssl pkeyutl -verify -pubin -inkey owner-key.pem -rawin -in
    receipt.signed -sigfile receipt.sig`` checks the receipt;
``README.txt``
    who asked, on what basis, the requested and disclosed windows, what was
    removed, and the commands that check everything;
``SHA256SUMS``
    every other file of the folder, in the format ``sha256sum -c`` reads.

All of them follow from the receipt, so ``receipt verify`` recomputes them and
compares (SHA256SUMS: every line must match the file it names). Pure.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vault.canonical import canonical_json
from vault.errors import IntegrityError
from vault.receipts.sign import SIGNING_CONTEXT
from vault.safetext import shown
from vault.transform import plan

SIGNED = "receipt.signed"
SIGNATURE = "receipt.sig"
OWNER_KEY = "owner-key.pem"
README = "README.txt"
SUMS = "SHA256SUMS"
#: The handover files, in the order they are written (SHA256SUMS last).
FILES = (SIGNED, SIGNATURE, OWNER_KEY, README, SUMS)


#: Every file a receipt's folder holds besides the footage.
def all_files() -> tuple[str, ...]:
    from vault.receipts.format import PROOF_TXT, RECEIPT_JSON, RECEIPT_TXT

    return (RECEIPT_JSON, RECEIPT_TXT, PROOF_TXT, *FILES)


OPENSSL_VERIFY = (
    f"openssl pkeyutl -verify -pubin -inkey {OWNER_KEY} -rawin -in {SIGNED} -sigfile {SIGNATURE}"
)
_SUM_LINE = re.compile(r"([0-9a-f]{64})  ([A-Za-z0-9._/-]{1,512})")


def signed_bytes(receipt: dict[str, Any]) -> bytes:
    """The exact message the receipt's signature is over."""
    return SIGNING_CONTEXT + canonical_json({k: v for k, v in receipt.items() if k != "signature"})


def signature_bytes(receipt: dict[str, Any]) -> bytes:
    try:
        return base64.b64decode(receipt["signature"]["value"], validate=True)
    except (KeyError, TypeError, ValueError):
        raise IntegrityError("the receipt's signature is malformed") from None


def owner_key_pem(receipt: dict[str, Any]) -> bytes:
    try:
        raw = base64.b64decode(receipt["signature"]["public_key"], validate=True)
        key = Ed25519PublicKey.from_public_bytes(raw)
    except (KeyError, TypeError, ValueError):
        raise IntegrityError("the receipt's public key is malformed") from None
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_fingerprint(receipt: dict[str, Any]) -> str:
    """SHA-256 of the owner's key as DER: what `openssl pkey -pubin -in
    owner-key.pem -outform DER | sha256sum` prints."""
    der = serialization.load_pem_public_key(owner_key_pem(receipt)).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def sha256sums(entries: list[tuple[str, str]]) -> bytes:
    """SHA256SUMS text for (relative name, hex SHA-256) pairs."""
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(entries)).encode()


def parse_sha256sums(data: bytes) -> list[tuple[str, str]]:
    """(name, digest) per line of a SHA256SUMS file, strictly (IntegrityError)."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise IntegrityError(f"{SUMS} is not ASCII text") from None
    if not text.endswith("\n"):
        raise IntegrityError(f"{SUMS} does not end with a newline")
    out = []
    for n, line in enumerate(text[:-1].split("\n"), 1):
        m = _SUM_LINE.fullmatch(line)
        if m is None:
            raise IntegrityError(f"{SUMS} line {n} is not `SHA256  NAME`")
        out.append((m.group(2), m.group(1)))
    return out


def _line(key: str, value: Any) -> str:
    return f"  {key + ':':<14} {shown(str(value)) if value is not None else '-'}\n"


def readme(receipt: dict[str, Any]) -> str:
    """README.txt for the folder of *receipt*: plain text, every outside string escaped."""
    r, d = receipt["request"], receipt["decision"]
    exp = receipt.get("export") or {}
    out = [
        "This folder was handed over by the owner of a home camera recorder (ringfence).\n",
        "It holds footage released in answer to a request, and what proves it.\n\n",
        "THE REQUEST\n",
    ]
    out += [
        _line("requester", f"{r['requester']} ({r['organisation']})"),
        _line("kind", r["kind"]),
        _line("basis", r["basis"]),
        _line("reference", r.get("reference")),
        _line("reason", r["reason"]),
        _line("cameras", ", ".join(r["scope"]["cameras"])),
        _line("asked for", f"{r['scope']['from']} to {r['scope']['to']}"),
    ]
    out += [
        "\nTHE OWNER'S DECISION\n",
        _line("outcome", d["outcome"].replace("_", " ")),
        _line("decided at", d["decided_at"]),
        _line("reason", d["reason"]),
        _line("terms", d.get("terms")),
        _line("expires", d.get("expires_at")),
        _line("export", exp.get("id")),
        _line("exported at", exp.get("created_at")),
    ]
    release = receipt.get("release")
    if isinstance(release, dict):
        c = release.get("choices") or {}
        out.append(
            _line(
                "minimised",
                ", ".join(
                    [f"cut: {c.get('cut')}"]
                    + (["sound removed"] if c.get("strip_audio") else [])
                    + (["faces blurred"] if c.get("blur_faces") else [])
                ),
            )
        )
    out.append("\nTHE FILES\n")
    for clip in receipt["clips"]:
        dl = clip.get("delivered")
        if not dl:
            continue
        out.append(f"  {shown(dl['file'])}\n")
        out.append(f"    camera {shown(clip['camera'])}, recorded from {clip['captured_at']}\n")
        ops = dl.get("operations") or []
        if not ops:
            out.append("    the original file, unchanged\n")
        else:
            out.append(f"    made from the original (SHA-256 {dl['derived_from']['sha256']}):\n")
            out += [f"    - {shown(plan.describe(op))}\n" for op in ops]
    out += [
        "\nHOW TO CHECK IT, WITH STOCK TOOLS\n",
        "  1. Every file is as the owner released it:\n",
        f"       sha256sum -c {SUMS}\n",
        "  2. The receipt carries the owner's signature:\n",
        f"       {OPENSSL_VERIFY}\n",
        f"     ({SIGNED} is exactly what was signed: its first line names the format,\n",
        "      the rest is receipt.json without its signature.)\n",
        "  3. The key is the owner's: ask the owner for their key's fingerprint, through\n",
        "     a channel you trust, and compare it with\n",
        f"       openssl pkey -pubin -in {OWNER_KEY} -outform DER | sha256sum\n",
        f"     which should print {key_fingerprint(receipt)}\n",
        f"     (the same key in base64: {receipt['signature']['public_key']}).\n",
        "  receipt.txt is the receipt in words; audit-proof.txt proves the export was\n",
        "  written to the owner's tamper-evident log. With ringfence installed,\n",
        "  `ringfence receipt verify .` checks all of it at once.\n",
    ]
    return "".join(out)


def receipt_files(receipt: dict[str, Any]) -> list[tuple[str, bytes]]:
    """Every file a receipt puts in its folder, SHA256SUMS aside, with its bytes."""
    from vault.receipts.format import PROOF_TXT, RECEIPT_JSON, RECEIPT_TXT
    from vault.receipts.render import render_text

    return [
        (RECEIPT_JSON, canonical_json(receipt)),
        (RECEIPT_TXT, render_text(receipt).encode()),
        (PROOF_TXT, receipt["audit"]["entries"][-1]["proof"].encode()),
        (SIGNED, signed_bytes(receipt)),
        (SIGNATURE, signature_bytes(receipt)),
        (OWNER_KEY, owner_key_pem(receipt)),
        (README, readme(receipt).encode()),
    ]


def sums_for(
    receipt: dict[str, Any],
    files: list[tuple[str, bytes]],
    extra: Sequence[tuple[str, str]] = (),
) -> bytes:
    """SHA256SUMS of the delivered files, the receipt's *files* and *extra*
    (name, digest) pairs (e.g. content credentials beside the videos)."""
    entries = [
        (c["delivered"]["file"], c["delivered"]["sha256"])
        for c in receipt["clips"]
        if c.get("delivered")
    ]
    entries += [(name, hashlib.sha256(data).hexdigest()) for name, data in files]
    return sha256sums(entries + list(extra))
