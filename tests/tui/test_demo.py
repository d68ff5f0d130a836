"""`ringfence demo`: the sample vault, the synthetic camera, the daemon's lifecycle."""

from __future__ import annotations

import argparse
import functools
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from demo import sample as demo_module
from demo.sample import SyntheticCamera, start_daemon, stop_daemon
from tests.tui.conftest import DemoCopy


def test_the_demo_vault_has_the_sample_requests(demo: DemoCopy) -> None:
    vault, ids = demo.vault, demo.ids
    by_id = {r.id: r for r in vault.requests.all()}
    assert {by_id[i].status for i in ids.values()} == {"pending", "refused"}
    assert by_id[ids["press"]].status == "refused"
    assert (by_id[ids["police"]].kind, by_id[ids["police"]].basis) == ("police", "warrant")
    assert by_id[ids["police"]].recipient and by_id[ids["police"]].reference
    assert (by_id[ids["insurer"]].kind, by_id[ids["insurer"]].basis) == ("insurer", "consent")
    assert by_id[ids["neighbour"]].urgent
    assert [
        len(vault.requests.scope_clips(ids[k])) for k in ("police", "insurer", "neighbour")
    ] == [6, 4, 6]
    assert vault.requests.decision_receipt(ids["press"])["decision"]["outcome"] == "refused"
    assert stat.S_IMODE(demo.demo.police_key.stat().st_mode) == 0o600
    assert not vault.unlocked


def test_the_synthetic_camera_keeps_recording(tmp_path: Path) -> None:
    drops = {"cam": tmp_path / "cam"}
    drops["cam"].mkdir()
    camera = SyntheticCamera(drops, every=0.05, clip_seconds=0.5)
    camera.start()
    deadline = time.monotonic() + 20
    while camera.recorded < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    camera.stop()
    names = sorted(p.name for p in drops["cam"].iterdir())
    assert len(names) >= 2 and all(n.startswith("cam_") and n.endswith("+0000.mp4") for n in names)
    assert not camera.is_alive()


def test_the_daemon_seals_what_the_camera_records(demo: DemoCopy) -> None:
    before = len(demo.vault.clips.all())
    proc = start_daemon(demo.demo)
    try:
        deadline = time.monotonic() + 30
        while not demo.vault.status.daemon_running() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert demo.vault.status.daemon_running()
        camera = SyntheticCamera(demo.demo.drops, every=0.05, clip_seconds=0.5)
        camera.start()
        while camera.recorded < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        camera.stop()
        while len(demo.vault.clips.all()) <= before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(demo.vault.clips.all()) > before
    finally:
        stop_daemon(proc)
    assert proc.returncode == 0
    assert not demo.vault.status.daemon_running()


@pytest.mark.parametrize("clean", [False, True])
def test_demo_command_starts_and_stops_everything(
    tmp_path: Path, monkeypatch: Any, capsys: Any, clean: bool
) -> None:
    seen: dict[str, Any] = {}

    def fake_run(app: Any) -> None:
        seen["running"] = app.vault.status.daemon_running()
        seen["requests"] = len(app.vault.requests.all())
        seen["notice"] = app.notice

    monkeypatch.setattr("tui.app.RingfenceApp.run", fake_run)
    monkeypatch.setattr(
        demo_module,
        "build",
        functools.partial(demo_module.build, clip_seconds=0.5, size=(160, 120), log_n=10),
    )
    root = tmp_path / "demo"
    args = argparse.Namespace(dir=root, every=0.2, clean=clean)
    assert demo_module.run(args) == 0
    assert seen["running"] is True and seen["requests"] == 4
    assert "Passphrase: demo" in seen["notice"]
    err = capsys.readouterr().err
    if clean:
        assert not root.exists()
    else:
        assert f"ringfence receipt verify {root / 'exports'}" in err
        assert (root / "exports").is_dir()
        from vault.service import Vault

        assert not Vault.open(root / "vault").status.daemon_running()
