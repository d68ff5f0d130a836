"""A drop-folder clip cut short gets the same media check as an upload: kept, flagged."""

from __future__ import annotations

from pathlib import Path

from demo.synth import clip_bytes
from vault.ingest.daemon import Daemon, DaemonOptions
from vault.service import Vault


def test_a_clip_cut_short_in_a_drop_folder_is_kept_and_flagged(vault: Vault, camera: Path) -> None:
    whole = clip_bytes(seconds=2.0, label="whole", seed=1)
    cut = clip_bytes(seconds=2.0, label="cut", seed=2)
    (camera / "whole.mp4").write_bytes(whole)
    (camera / "cut.mp4").write_bytes(cut[: len(cut) // 2])
    (camera / "notes.txt").write_bytes(b"not a clip: nothing to judge")
    Daemon(vault, DaemonOptions(once=True, settle_seconds=0)).run()
    by_name = {c.original_name: c for c in vault.clips.all()}
    assert by_name["whole.mp4"].truncated is False
    assert by_name["cut.mp4"].truncated is True and by_name["cut.mp4"].size == len(cut) // 2
    assert by_name["notes.txt"].truncated is False  # unknown is not guessed
    truncated = [e for _i, e in vault.audit.entries(0) if e["type"] == "clip.truncated"]
    assert [e["subject"] for e in truncated] == [by_name["cut.mp4"].id]
    assert vault.clips.verify().problems == []
