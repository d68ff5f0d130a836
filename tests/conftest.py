from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tools import PASSPHRASE, SettableClock
from vault.service import Vault

FAST_LOG_N = 10  # scrypt work factor for tests: fast, never used for real vaults


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    """A real vault in tmp_path, unlocked, with a fast KDF; its clock is a
    SettableClock (``vault.clock.set(...)`` moves it)."""
    v = Vault.init(tmp_path / "vault", PASSPHRASE, log_n=FAST_LOG_N, clock=SettableClock())
    yield v
    v.close()


@pytest.fixture
def camera(vault: Vault, tmp_path: Path) -> Path:
    """A camera named 'front' with its drop folder."""
    drop = tmp_path / "drop" / "front"
    drop.mkdir(parents=True)
    vault.cameras.add("front", drop)
    return drop


@pytest.fixture
def utc_local_time() -> Iterator[None]:
    """Local time is UTC for one test, and the process's zone is put back after."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


def pytest_configure(config: pytest.Config) -> None:
    """Session-wide fixtures that build vaults write their owner heads here, not
    into the real configuration folder; each test then gets its own below."""
    import tempfile

    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="rf-test-config-")


@pytest.fixture(autouse=True)
def owner_config_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Each test's own owner configuration folder (where the owner's newest signed
    checkpoint is kept), so no test writes the real one or sees another's."""
    home = tmp_path_factory.mktemp("owner-config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home
