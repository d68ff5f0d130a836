"""C2PA sidecar manifests, signed and validated with the real c2pa-python
library: Trusted with the vault's root as the only anchor, not Trusted under
another root, Invalid once a byte of the video changes."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.tools import require_module, require_tool
from vault.receipts import c2pa as cred

C2PA = "pip install 'ringfence[c2pa]'"
NOW = dt.datetime(2026, 12, 2, 18, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _library() -> None:
    require_module("c2pa", C2PA)


def _video(path: Path, seconds: float = 1.0) -> Path:
    from demo.synth import write_clip

    write_clip(path, seconds=seconds, width=320, height=240, fps=10, seed=3, codec="h264")
    return path


def _provenance(title: str, operations: list[dict] | None = None) -> cred.Provenance:
    return cred.Provenance(
        title=title,
        camera="porch",
        captured_at="2026-12-01T22:00:00Z",
        clip_id="C1",
        clip_sha256="ab" * 32,
        request_id="R1",
        receipt_id="X1",
        export_id="E1",
        vault_origin="ringfence.example/vault",
        operations=operations or [],
    )


def test_the_root_is_derived_stable_and_a_ca() -> None:
    owner = Ed25519PrivateKey.generate()
    a = cred.root_certificate(cred.root_key(owner), "origin")
    b = cred.root_certificate(cred.root_key(owner), "origin")
    assert a.public_bytes(x509_pem()) == b.public_bytes(x509_pem())
    other = cred.root_certificate(cred.root_key(Ed25519PrivateKey.generate()), "origin")
    assert other.public_bytes(x509_pem()) != a.public_bytes(x509_pem())
    assert a.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    # The root key is not the owner's key.
    assert (
        cred.root_key(owner).public_key().public_bytes_raw()
        != owner.public_key().public_bytes_raw()
    )


def x509_pem():  # noqa: ANN201
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.PEM


def test_openssl_accepts_the_export_certificate_as_issued_by_the_root(tmp_path: Path) -> None:
    openssl = require_tool("openssl")
    signer = cred.export_signer(Ed25519PrivateKey.generate(), "origin", "E1", NOW)
    (tmp_path / "root.pem").write_bytes(signer.root_pem)
    leaf = signer.chain_pem[: signer.chain_pem.index(b"-----END CERTIFICATE-----") + 26]
    (tmp_path / "leaf.pem").write_bytes(leaf)
    out = subprocess.run(
        [openssl, "verify", "-CAfile", str(tmp_path / "root.pem"), str(tmp_path / "leaf.pem")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    fp = subprocess.run(
        [openssl, "x509", "-in", str(tmp_path / "root.pem"), "-noout", "-fingerprint", "-sha256"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert fp.stdout.strip().split("=")[1].replace(":", "").lower() == signer.root_sha256


def test_an_original_validates_as_trusted_and_a_changed_byte_fails(tmp_path: Path) -> None:
    video = _video(tmp_path / "clip.mp4")
    before = video.read_bytes()
    signer = cred.export_signer(Ed25519PrivateKey.generate(), "origin", "E1", NOW)
    manifest = cred.sign_sidecar(
        video, _provenance("clip.mp4"), signer, original=None, version="0.1.0"
    )
    assert video.read_bytes() == before  # a sidecar: the original stays byte-identical
    check = cred.validate(video, manifest, signer.root_pem)
    assert check.trusted, check.problems
    actions = [a["action"] for a in cred.actions_of(check.manifest)]
    assert actions == ["c2pa.created", "c2pa.published"]
    published = cred.actions_of(check.manifest)[-1]["parameters"]
    assert published["ringfence.request"] == "R1" and published["ringfence.receipt"] == "X1"

    data = bytearray(before)
    data[len(data) // 2] ^= 0x01
    video.write_bytes(bytes(data))
    broken = cred.validate(video, manifest, signer.root_pem)
    assert not broken.trusted and broken.state != cred.TRUSTED
    assert any("mismatch" in p or "hash" in p.lower() for p in broken.problems), broken.problems


def test_another_root_does_not_make_it_trusted(tmp_path: Path) -> None:
    video = _video(tmp_path / "clip.mp4")
    signer = cred.export_signer(Ed25519PrivateKey.generate(), "origin", "E1", NOW)
    manifest = cred.sign_sidecar(
        video, _provenance("clip.mp4"), signer, original=None, version="0.1.0"
    )
    stranger = cred.export_signer(Ed25519PrivateKey.generate(), "origin", "E1", NOW)
    check = cred.validate(video, manifest, stranger.root_pem)
    assert not check.trusted and check.state != cred.TRUSTED


def test_a_derived_file_names_its_original_and_each_operation(tmp_path: Path) -> None:
    original = _video(tmp_path / "original.mp4", seconds=2)
    derived = _video(tmp_path / "derived.mp4", seconds=1)
    ops = [
        {"op": "trim", "requested": ["a", "b"], "disclosed": ["a", "b"]},
        {"op": "mask", "rects": [[0, 0, 500000, 500000]]},
    ]
    signer = cred.export_signer(Ed25519PrivateKey.generate(), "origin", "E1", NOW)
    manifest = cred.sign_sidecar(
        derived, _provenance("derived.mp4", ops), signer, original=original, version="0.1.0"
    )
    check = cred.validate(derived, manifest, signer.root_pem)
    assert check.trusted, check.problems
    actions = cred.actions_of(check.manifest)
    assert [a["action"] for a in actions] == [
        "c2pa.created",
        "c2pa.edited",
        "c2pa.edited",
        "c2pa.published",
    ]
    assert [a["parameters"]["ringfence.operation"]["op"] for a in actions[1:3]] == ["trim", "mask"]
    assert check.manifest is not None
    ingredients = check.manifest.get("ingredients", [])
    assert len(ingredients) == 1 and ingredients[0]["relationship"] == "parentOf"
    # Nothing of the original's pictures travels in the manifest.
    assert "thumbnail" not in json.dumps(ingredients)
    assert len(manifest) < 64 << 10


def test_garbage_is_not_a_manifest(tmp_path: Path) -> None:
    video = _video(tmp_path / "clip.mp4")
    signer = cred.export_signer(Ed25519PrivateKey.generate(), "origin", "E1", NOW)
    for junk in (b"", b"\x00" * 100, b"not c2pa at all" * 50):
        check = cred.validate(video, junk, signer.root_pem)
        assert not check.trusted
    assert not cred.validate(video, b"x", b"not a pem").trusted
