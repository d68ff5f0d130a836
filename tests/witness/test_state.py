"""The witness's folder: made private, its key and name kept, refused when exposed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.witness.conftest import NOW, Log
from vault.errors import UsageError, VaultError
from vault.witness.state import WitnessState


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_folder_and_files_are_private(tmp_path: Path) -> None:
    st = WitnessState.open(tmp_path / "w")
    assert st.created
    assert _mode(tmp_path / "w") == 0o700
    assert _mode(tmp_path / "w" / "witness.key") == 0o600
    assert _mode(tmp_path / "w" / "witness.db") == 0o600
    assert st.cosigner.name.startswith("ringfence.witness/")


def test_the_key_and_name_survive_a_restart(tmp_path: Path) -> None:
    first = WitnessState.open(tmp_path / "w", name="witness.example/pi")
    again = WitnessState.open(tmp_path / "w")
    assert not again.created
    assert again.cosigner.key == first.cosigner.key
    assert again.cosigner.name == "witness.example/pi"
    with pytest.raises(UsageError, match="cannot change"):
        WitnessState.open(tmp_path / "w", name="witness.example/other")


def test_a_key_others_can_read_is_refused(tmp_path: Path) -> None:
    WitnessState.open(tmp_path / "w")
    os.chmod(tmp_path / "w" / "witness.key", 0o644)
    with pytest.raises(VaultError, match="readable by others"):
        WitnessState.open(tmp_path / "w")


def test_bad_names_origins_and_keys_are_usage_errors(tmp_path: Path, log: Log) -> None:
    with pytest.raises(UsageError):
        WitnessState.open(tmp_path / "w", name="has space")
    st = WitnessState.open(tmp_path / "w2")
    with pytest.raises(UsageError):
        st.trust(log.origin, "not-a-key", NOW)
    with pytest.raises(UsageError):
        st.trust("two\nlines", log.signer.verifier_key(), NOW)
    st.trust(log.origin, log.signer.verifier_key(), NOW)
    st.trust(log.origin, log.signer.verifier_key(), NOW)  # again: no duplicate
    assert [r.keys for r in st.logs()] == [(log.signer.verifier_key(),)]
    assert st.distrust(log.origin, None) == 1
    assert st.logs() == []


def test_evidence_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import vault.witness.state as state_mod

    monkeypatch.setattr(state_mod, "MAX_EVIDENCE", 3)
    st = WitnessState.open(tmp_path / "w")
    for i in range(5):
        st.keep_evidence("o", f"r{i}", b"x", NOW)
    assert [r for _, r, _ in st.evidence("o")] == ["r2", "r3", "r4"]
