"""Redaction at export: privacy masks and face blurring at 720p, and C2PA signing.

A synthetic 1280×720 H.264 clip (demo.synth: a lit scene, grain, a walking
figure) is re-encoded three ways in the same process: unchanged (the
reference: decode + libx264 encode and nothing else), with two privacy masks,
and with face detection (CenterFace through OpenCV's DNN, every frame) and
blurring. Each figure is frames per second of the whole re-encode and its
ratio to the reference. C2PA signing is timed per file for the same clip (a
derived file, its original as ingredient) against SHA-256 of the file, and
validation likewise. Median of the repeats.

Run: python -m bench.bench_redact [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def _median_time(fn: Any, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main(quick: bool = False) -> dict[str, Any]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from demo.synth import write_clip
    from vault.receipts import c2pa as cred
    from vault.redact.faces import CenterFace, FaceBlur
    from vault.redact.regions import parse_rect
    from vault.redact.video import redact

    seconds, fps, repeat = (2, 15, 1) if quick else (6, 15, 3)
    frames = seconds * fps
    masks = [parse_rect("0,0,0.3,0.4"), parse_rect("0.6,0.55,0.4,0.45")]
    out: dict[str, Any] = {
        "clip": f"1280x720 H.264, {seconds} s at {fps} fps ({frames} frames)",
        "method": "in-process re-encode file to file (decode, change, libx264 veryfast crf 20); "
        f"median of {repeat}; reference = the same re-encode with nothing changed",
    }
    with tempfile.TemporaryDirectory(prefix="ringfence-bench-redact-") as tmp:
        src = Path(tmp) / "src.mp4"
        write_clip(src, seconds=seconds, width=1280, height=720, fps=fps, seed=5, codec="h264")
        dst = Path(tmp) / "out.mp4"

        def run(**kw: Any) -> None:
            dst.unlink(missing_ok=True)
            redact(src, dst, **kw)

        plain = _median_time(lambda: run(), repeat)
        masked = _median_time(lambda: run(masks=masks), repeat)
        detector = CenterFace()
        blurred = _median_time(lambda: run(masks=masks, blur=FaceBlur(detector)), repeat)
        out["reencode_fps"] = frames / plain
        out["mask_fps"] = frames / masked
        out["mask_ratio"] = masked / plain
        out["blur_faces_fps"] = frames / blurred
        out["blur_faces_ratio"] = blurred / plain

        run(masks=masks)
        signer = cred.export_signer(
            Ed25519PrivateKey.generate(), "bench", "E1", dt.datetime.now(dt.UTC)
        )
        prov = cred.Provenance(
            "out.mp4",
            "porch",
            "2026-12-01T22:00:00Z",
            "C1",
            "00" * 32,
            "R1",
            "X1",
            "E1",
            "bench",
            [{"op": "mask", "rects": [m.as_list() for m in masks]}],
        )
        manifest: list[bytes] = []

        def sign() -> None:
            manifest[:] = [cred.sign_sidecar(dst, prov, signer, original=src, version="bench")]

        def digest() -> None:
            with open(dst, "rb") as f:
                hashlib.file_digest(f, "sha256")

        sign_s = _median_time(sign, 5 if quick else 15)
        hash_s = _median_time(digest, 5 if quick else 15)
        check_s = _median_time(
            lambda: cred.validate(dst, manifest[0], signer.root_pem), 5 if quick else 15
        )
        size = dst.stat().st_size
        out["c2pa"] = {
            "file_mib": size / (1 << 20),
            "sign_ms": sign_s * 1000,
            "validate_ms": check_s * 1000,
            "sha256_ms": hash_s * 1000,
            "sign_vs_sha256": sign_s / hash_s,
            "manifest_bytes": len(manifest[0]),
        }
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    print(main(quick=ap.parse_args().quick))
