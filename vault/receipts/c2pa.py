"""C2PA content credentials for delivered videos: a sidecar manifest per file.

Each delivered video gets ``VIDEO.c2pa`` beside it, a C2PA manifest store
bound by hash to the video's bytes (the video itself is not touched: an
original stays byte-identical). It says, in the standard's own actions, that
a camera captured the footage (``c2pa.created``), what the export changed
(one ``c2pa.edited`` per operation, with the original clip as the
``parentOf`` ingredient), and that it was released for a request under a
receipt (``c2pa.published``). C2PA's ``c2pa.redacted`` is not used: in the
standard it means an *assertion* was removed from an ingredient's manifest,
and a manifest that says so without naming that assertion does not validate.

The manifests are signed with an export certificate, made for each export
with a fresh Ed25519 key and issued by the vault's C2PA root. The root's key
is derived from the owner's signing key (HKDF, its own label), so it is as
safe as that key, needs no backup of its own and opens only with the
passphrase; its certificate is the same bytes every time and goes into the
folder as ``c2pa-root.pem``. Anyone can then validate each manifest with a
stock C2PA tool, trusting only that root; the receipt, signed by the owner,
names the root's SHA-256 so the root itself is checked too.

The c2pa-python library is imported only when used (the ``c2pa`` extra).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from vault.errors import IntegrityError, UsageError

ROOT_PEM = "c2pa-root.pem"
SIDECAR_SUFFIX = ".c2pa"
MIME = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime"}
#: The HKDF label of the root key: no other key of the vault can come out of it.
ROOT_INFO = b"ringfence-c2pa-root/1"
#: The root's validity is fixed, so its certificate is the same bytes every time.
ROOT_NOT_BEFORE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
ROOT_NOT_AFTER = dt.datetime(2124, 1, 1, tzinfo=dt.UTC)
#: An export certificate outlives any investigation: the manifests carry no
#: trusted timestamp, so validators check the certificate against today's date.
EXPORT_YEARS = 50
#: What validators read from a sidecar or a root file at most.
MAX_SIDECAR = 4 << 20
MAX_ROOT = 64 << 10
DIGITAL_CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
TRUSTED = "Trusted"

MISSING = "C2PA content credentials need c2pa-python: pip install 'ringfence[c2pa]'"


def _c2pa() -> Any:
    try:
        import c2pa
    except ImportError:
        raise UsageError(MISSING) from None
    return c2pa


def available() -> bool:
    try:
        _c2pa()
    except UsageError:
        return False
    return True


def mime_of(name: str) -> str | None:
    """The C2PA format of a delivered file, or None when it gets no manifest."""
    return MIME.get(os.path.splitext(name)[1].lower())


# --- the root and the export certificates ----------------------------------------


def root_key(owner_signing: Ed25519PrivateKey) -> Ed25519PrivateKey:
    """The vault's C2PA root key, derived from the owner's signing key."""
    seed = owner_signing.private_bytes_raw()
    return Ed25519PrivateKey.from_private_bytes(
        HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=ROOT_INFO).derive(seed)
    )


def _name(common: str, origin: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ringfence vault"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, origin[:64] or "vault"),
        ]
    )


def _key_usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def root_certificate(key: Ed25519PrivateKey, origin: str) -> x509.Certificate:
    """The self-signed root, the same bytes for the same key and origin
    (Ed25519 signatures are deterministic; the serial comes from the key)."""
    public = key.public_key()
    serial = (
        int.from_bytes(hashlib.sha256(ROOT_INFO + public.public_bytes_raw()).digest()[:16], "big")
        >> 1
    )
    name = _name("ringfence export root", origin)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(serial or 1)
        .not_valid_before(ROOT_NOT_BEFORE)
        .not_valid_after(ROOT_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(sign=False, ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, None)
    )


@dataclass(frozen=True)
class ExportSigner:
    """The PEM chain (export certificate, then root) and the export key, for one export."""

    chain_pem: bytes
    key_pem: bytes = field(repr=False)
    root_pem: bytes

    @property
    def root_sha256(self) -> str:
        return root_fingerprint(self.root_pem)


def root_fingerprint(root_pem: bytes) -> str:
    """SHA-256 of the root certificate's DER bytes, as hex (what ``openssl x509
    -fingerprint -sha256`` prints, without the colons)."""
    try:
        cert = x509.load_pem_x509_certificate(root_pem)
    except ValueError:
        raise IntegrityError(f"{ROOT_PEM} is not a PEM certificate") from None
    return cert.fingerprint(hashes.SHA256()).hex()


def export_signer(
    owner_signing: Ed25519PrivateKey, origin: str, export_id: str, now: dt.datetime
) -> ExportSigner:
    """A fresh export key and its certificate, issued by the vault's root."""
    rkey = root_key(owner_signing)
    root = root_certificate(rkey, origin)
    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"ringfence export {export_id}"[:64], origin))
        .issuer_name(root.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(min(now + dt.timedelta(days=365 * EXPORT_YEARS), ROOT_NOT_AFTER))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(sign=True, ca=False), critical=True)
        # C2PA accepts a signing certificate only with one of a few purposes;
        # e-mail protection is the one every validator knows.
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(rkey.public_key()), critical=False
        )
        .sign(rkey, None)
    )
    pem = serialization.Encoding.PEM
    root_pem = root.public_bytes(pem)
    return ExportSigner(
        chain_pem=cert.public_bytes(pem) + root_pem,
        key_pem=key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        root_pem=root_pem,
    )


# --- the manifest ----------------------------------------------------------------


@dataclass(frozen=True)
class Provenance:
    """What a manifest says about one delivered file."""

    title: str
    camera: str
    captured_at: str
    clip_id: str
    clip_sha256: str
    request_id: str
    receipt_id: str
    export_id: str
    vault_origin: str
    #: The receipt's operations for this file (empty for an original).
    operations: Sequence[dict[str, Any]] = ()


def _describe(op: dict[str, Any]) -> str:
    kind = op.get("op")
    return {
        "trim": "cut to the approved window",
        "strip-audio": "audio removed",
        "mask": "privacy masks filled solid",
        "blur-faces": "faces blurred",
        "reencode": "re-encoded",
    }.get(str(kind), f"ringfence operation {kind}")


def definition(p: Provenance, version: str) -> dict[str, Any]:
    """The manifest definition c2pa-python signs (pure)."""
    ingredient_id = f"ringfence:clip:{p.clip_id}"
    actions: list[dict[str, Any]] = [
        {
            "action": "c2pa.created",
            "digitalSourceType": DIGITAL_CAPTURE,
            "when": p.captured_at,
            "softwareAgent": {"name": f"camera {p.camera}"},
            "parameters": {
                "ringfence.camera": p.camera,
                "ringfence.clip": p.clip_id,
                "ringfence.clip_sha256": p.clip_sha256,
            },
        }
    ]
    for op in p.operations:
        actions.append(
            {
                "action": "c2pa.edited",
                "description": _describe(op),
                "softwareAgent": {"name": "ringfence", "version": version},
                "parameters": {"ingredientIds": [ingredient_id], "ringfence.operation": op},
            }
        )
    actions.append(
        {
            "action": "c2pa.published",
            "softwareAgent": {"name": "ringfence", "version": version},
            "parameters": {
                "ringfence.request": p.request_id,
                "ringfence.receipt": p.receipt_id,
                "ringfence.export": p.export_id,
                "ringfence.vault": p.vault_origin,
            },
        }
    )
    return {
        "claim_generator_info": [{"name": "ringfence", "version": version}],
        "title": p.title,
        "format": mime_of(p.title) or "video/mp4",
        "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": actions}}],
    }


def sign_sidecar(
    video: Path,
    provenance: Provenance,
    signer: ExportSigner,
    *,
    original: Path | None,
    version: str,
) -> bytes:
    """The manifest store for *video*, bound to its bytes, ready to write as
    ``VIDEO.c2pa``. *original* is the clip as ingested when *video* was
    derived from it (it becomes the ingredient), None when *video* is the
    original. No thumbnail of either is made: the original may show what
    the export removed."""
    c2pa = _c2pa()
    mime = mime_of(video.name)
    if mime is None:
        raise UsageError(f"{video.name}: C2PA manifests are made for MP4 and QuickTime only")
    try:
        info = c2pa.C2paSignerInfo(
            c2pa.C2paSigningAlg.ED25519, signer.chain_pem, signer.key_pem, None
        )
        context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
        with (
            c2pa.Signer.from_info(info) as sig,
            c2pa.Builder(definition(provenance, version), context=context) as builder,
        ):
            if original is not None and provenance.operations:
                with open(original, "rb") as f:
                    builder.add_ingredient(
                        {
                            "title": f"clip {provenance.clip_id}",
                            "relationship": "parentOf",
                            "instance_id": f"ringfence:clip:{provenance.clip_id}",
                        },
                        mime_of(original.name) or mime,
                        f,
                    )
            builder.set_no_embed()
            with open(video, "rb") as src:
                manifest: bytes = builder.sign(sig, mime, src, _Null())
    except c2pa.C2paError as exc:
        raise UsageError(f"cannot sign the C2PA manifest of {video.name}: {exc}") from None
    return manifest


class _Null(io.RawIOBase):
    """Where c2pa-python writes its copy of the asset: with the manifest kept
    in a sidecar, that copy is the video unchanged, so it is dropped."""

    def __init__(self) -> None:
        self._pos = 0
        self._end = 0

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        n = len(data)
        self._pos += n
        self._end = max(self._end, self._pos)
        return n

    def read(self, n: int = -1) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._end}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos


# --- validation -----------------------------------------------------------------


@dataclass(frozen=True)
class ManifestCheck:
    """The outcome of validating one sidecar against a trusted root."""

    state: str
    problems: list[str]
    manifest: dict[str, Any] | None

    @property
    def trusted(self) -> bool:
        return self.state == TRUSTED and not self.problems


def validate(video: Path, manifest: bytes, root_pem: bytes) -> ManifestCheck:
    """Validate *manifest* (a sidecar's bytes) for *video*, trusting *root_pem* only.

    Trusted means: the signature verifies, the certificate chains to the root,
    and the hash of every byte of the video matches.
    """
    c2pa = _c2pa()
    mime = mime_of(video.name)
    if mime is None:
        return ManifestCheck("Invalid", [f"{video.name}: not an MP4 or QuickTime file"], None)
    try:
        context = c2pa.Context.from_dict(
            {
                "verify": {"verify_trust": True},
                "trust": {"trust_anchors": root_pem.decode("ascii")},
            }
        )
        with open(video, "rb") as f, c2pa.Reader(mime, f, manifest, context=context) as reader:
            state = reader.get_validation_state() or "Invalid"
            results = reader.get_validation_results() or {}
            active = reader.get_active_manifest()
    except (c2pa.C2paError, UnicodeDecodeError, ValueError) as exc:
        return ManifestCheck("Invalid", [f"not a valid manifest: {exc}"], None)
    problems = [
        f"{f.get('code')}: {f.get('explanation', '')}"
        for f in (results.get("activeManifest") or {}).get("failure", [])
    ]
    return ManifestCheck(state, problems, active)


def actions_of(manifest: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The actions of a validated manifest, in order."""
    for assertion in (manifest or {}).get("assertions", []):
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            return list((assertion.get("data") or {}).get("actions", []))
    return []
