"""The FTPS certificate: generated on first use, or the owner's own.

Cameras rarely check a certificate against a CA, so the self-signed one is
made once and kept (its key file 0600): its SHA-256 fingerprint stays the same
and the owner can compare it with what the camera shows, if it shows one.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vault.errors import VaultError
from vault.fsutil import ensure_private_dir, read_regular, write_atomic

CERT_NAME = "ftps-cert.pem"
KEY_NAME = "ftps-key.pem"
_MAX_PEM = 1 << 20
_VALID_DAYS = 3650


@dataclass(frozen=True)
class TlsIdentity:
    """The certificate and key files the receiver serves, and the certificate's fingerprint."""

    cert_path: Path
    key_path: Path
    fingerprint: str  # "SHA256:AB:CD:..." over the DER certificate


def _certificate(cert_pem: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise VaultError("FTPS: the certificate file is not a PEM certificate") from None


def fingerprint(cert_pem: bytes) -> str:
    """``SHA256:AB:CD:…``, the form certificate viewers show."""
    cert = _certificate(cert_pem)
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return "SHA256:" + ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _read(path: Path) -> bytes:
    try:
        return read_regular(path, _MAX_PEM)
    except OSError as exc:
        raise VaultError(f"FTPS: cannot read {path}: {exc.strerror}") from None


def supplied(cert_path: Path, key_path: Path) -> TlsIdentity:
    """The owner's own certificate and key (checked to be readable and to match)."""
    cert_pem = _read(cert_path)
    cert = _certificate(cert_pem)
    try:
        key = serialization.load_pem_private_key(_read(key_path), password=None)
    except (ValueError, TypeError):
        raise VaultError("FTPS: the key file is not an unencrypted PEM private key") from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    if cert.public_key().public_bytes(enc, public) != key.public_key().public_bytes(enc, public):
        raise VaultError("FTPS: the key does not belong to the certificate")
    return TlsIdentity(cert_path, key_path, fingerprint(cert_pem))


def ensure_identity(
    folder: Path,
    *,
    name: str = "ringfence",
    now: datetime.datetime | None = None,
) -> TlsIdentity:
    """The self-signed identity in *folder*, made on first use."""
    cert_path, key_path = folder / CERT_NAME, folder / KEY_NAME
    if cert_path.exists() or key_path.exists():
        return supplied(cert_path, key_path)
    ensure_private_dir(folder, share=False)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = (now or datetime.datetime.now(datetime.UTC)) - datetime.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=_VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    write_atomic(key_path, key_pem, mode=0o600, share=False)
    write_atomic(cert_path, cert_pem, mode=0o644, share=False)
    return TlsIdentity(cert_path, key_path, fingerprint(cert_pem))
