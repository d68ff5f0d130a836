"""The daemon's sealing rules, run in-process with --once on real files."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from tests.tools import require_tool
from vault.ingest.daemon import Daemon, DaemonOptions
from vault.service import Vault


def run_once(vault: Vault) -> Daemon:
    d = Daemon(vault, DaemonOptions(once=True, settle_seconds=0))
    assert d.run() == 0
    return d


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_odd_names_subfolders_and_skips(vault: Vault, camera: Path, tmp_path: Path) -> None:
    files = {
        camera / "plain.mp4": b"a" * 1000,
        camera / "with spaces and ünïcode.mp4": b"b" * 70000,
        camera / "2026" / "11" / "deep.mp4": b"c" * 10,
        Path(os.fsdecode(bytes(camera) + b"/bad-\xff\xfe.mp4")): b"d" * 5,
        camera / "empty.mp4": b"",
    }
    for p, data in files.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    skipped = {
        camera / ".hidden.mp4": b"h",
        camera / "upload.mp4.part": b"p",
        camera / "x.tmp": b"t",
        camera / "backup~": b"~",
        camera / ".sync" / "inside.mp4": b"s",
    }
    for p, data in skipped.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    outside = tmp_path / "outside.mp4"
    outside.write_bytes(b"not a camera file")
    (camera / "link.mp4").symlink_to(outside)
    os.mkfifo(camera / "pipe.mp4")

    run_once(vault)

    clips = vault.clips.all()
    assert sorted(c.sha256 for c in clips) == sorted(sha(d) for d in files.values())
    for p in files:
        assert not os.path.lexists(p), f"plaintext left: {p}"
    for p in skipped:
        assert p.exists(), f"ignored file was touched: {p}"
    assert (camera / "link.mp4").is_symlink() and outside.read_bytes() == b"not a camera file"
    assert (camera / "pipe.mp4").exists()
    names = {c.original_name for c in clips}
    assert "bad-\\xff\\xfe.mp4" in names and "with spaces and ünïcode.mp4" in names


def test_same_bytes_same_camera_is_one_clip(vault: Vault, camera: Path) -> None:
    (camera / "one.mp4").write_bytes(b"same")
    run_once(vault)
    (camera / "again.mp4").write_bytes(b"same")
    run_once(vault)
    assert len(vault.clips.all()) == 1
    assert not (camera / "again.mp4").exists()


def test_export_age_opens_with_the_stock_age_tool(
    vault: Vault, camera: Path, tmp_path: Path
) -> None:
    age_bin = require_tool("age")
    data = os.urandom(200_000)
    (camera / "clip.mp4").write_bytes(data)
    run_once(vault)
    (clip,) = vault.clips.all()
    out = vault.clips.export_age(clip.id, tmp_path / "clip.age")
    ident = tmp_path / "owner.key"
    ident.write_text(str(vault.owner_keys().identity) + "\n")
    ident.chmod(0o600)
    got = subprocess.run(
        [age_bin, "-d", "-i", str(ident), str(out)], capture_output=True, check=True
    )
    assert got.stdout == data


def test_verify_finds_a_damaged_payload(vault: Vault, camera: Path) -> None:
    (camera / "a.mp4").write_bytes(b"x" * 5000)
    (camera / "b.mp4").write_bytes(b"y" * 5000)
    run_once(vault)
    check = vault.clips.verify()
    assert check.checked == 2 and check.problems == []
    victim = vault.clips.all()[0]
    path = vault.store.path(victim.id)
    path.chmod(0o600)
    raw = bytearray(path.read_bytes())
    raw[100] ^= 1
    path.write_bytes(bytes(raw))
    problems = vault.clips.verify().problems
    assert [p.clip_id for p in problems] == [victim.id]
    assert "hash" in problems[0].problem


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
    )
    return proc.returncode == 0


def test_a_full_disk_keeps_the_plaintext(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A vault on a small filesystem: sealing a clip larger than the free space
    fails with ENOSPC, the plaintext stays, nothing half-stored remains, and
    the clip is sealed once space is back."""
    from tests.conftest import FAST_LOG_N
    from tests.tools import PASSPHRASE

    small = tmp_path / "small"
    mounted = _mount_tmpfs(small, "2m")
    try:
        v = Vault.init(small / "vault", PASSPHRASE, log_n=FAST_LOG_N)
        drop = tmp_path / "drop"
        drop.mkdir()
        v.cameras.add("front", drop)
        clip = drop / "big.mp4"
        data = os.urandom(3 << 20)
        clip.write_bytes(data)
        if not mounted:
            # No mount here: inject ENOSPC where the store writes.
            import errno

            from vault import store as store_mod

            def full_write(self: store_mod.BlobWriter, data: bytes) -> int:
                raise store_mod.storage_error(OSError(errno.ENOSPC, "No space"), "cannot write")

            monkeypatch.setattr(store_mod.BlobWriter, "write", full_write)
        d = run_once(v)
        assert clip.read_bytes() == data, "the plaintext must stay when sealing fails"
        assert v.clips.all() == []
        assert list(v.store.tmp_dir.iterdir()) == []
        assert any("disk is full" in e for e in d.stats.errors), d.stats.errors
        if mounted:
            subprocess.run(["mount", "-o", "remount,size=64m", str(small)], check=True)
        else:
            monkeypatch.undo()
        run_once(v)
        (sealed,) = v.clips.all()
        assert sealed.sha256 == sha(data) and not clip.exists()
        v.close()
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(small)], check=False)
