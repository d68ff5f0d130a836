"""Crash safety: a real daemon process killed with SIGKILL at random moments.

After every kill and a final clean pass, each input is sealed exactly once
(or still waiting in the drop folder), and the catalog and the store agree.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.tools import cli_env, run_cli
from vault.service import Vault

TRIALS = int(os.environ.get("RINGFENCE_CRASH_TRIALS", "24"))


def _drop(folder: Path, rng: random.Random, n: int, tag: str) -> dict[str, bytes]:
    made = {}
    for i in range(n):
        data = rng.randbytes(rng.choice([0, 1, 65536, 70_000, 300_000, 1_200_000]))
        data += f"{tag}-{i}".encode()  # unique contents
        name = rng.choice(["clip {}.mp4", "ünï-{}.mp4", "{}.mov", "sub/{}.mp4"]).format(
            f"{tag}-{i}"
        )
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name("." + path.name + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        made[hashlib.sha256(data).hexdigest()] = data
    return made


def _check(vault_dir: Path, drop: Path, inputs: dict[str, bytes]) -> None:
    v = Vault.open(vault_dir)
    try:
        clips = v.clips.all()
        sealed = [c.sha256 for c in clips]
        assert len(sealed) == len(set(sealed)), "a clip was sealed twice"
        waiting = {
            hashlib.sha256(p.read_bytes()).hexdigest()
            for p in drop.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        }
        assert set(sealed) | waiting == set(inputs), "a clip was lost"
        assert not (set(sealed) & waiting), (
            "plaintext left beside its sealed clip after a clean pass"
        )
        blobs = set(v.store.ids())
        assert blobs == {c.id for c in clips}, "catalog and store disagree"
        assert list(v.store.tmp_dir.iterdir()) == []
        report = v.audit.verify(v.verifier_keys())
        assert report.ok, report.reason
    finally:
        v.close()


@pytest.mark.parametrize("trial", range(TRIALS))
def test_sigkill_at_random_moments(tmp_path: Path, trial: int) -> None:
    rng = random.Random(trial)
    vault_dir = tmp_path / "vault"
    drop = tmp_path / "drop"
    drop.mkdir()
    Vault.init(vault_dir, "pw", log_n=10).close()
    run_cli(vault_dir, "camera", "add", "front", str(drop))
    inputs: dict[str, bytes] = {}
    env = cli_env(vault_dir)
    for round_ in range(3):
        inputs.update(_drop(drop, rng, rng.randint(3, 8), f"t{trial}r{round_}"))
        proc = subprocess.Popen(
            [sys.executable, "-m", "vault", "daemon", "--settle", "0.2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 1.6))
        if round_ == 1:
            # Drop more while the daemon runs, then kill it mid-work.
            inputs.update(_drop(drop, rng, rng.randint(2, 5), f"t{trial}live"))
            time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    run_cli(vault_dir, "daemon", "--once")
    _check(vault_dir, drop, inputs)
    left = [p for p in drop.rglob("*") if p.is_file()]
    assert left == [], f"files left after a clean pass: {left}"
