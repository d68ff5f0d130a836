"""A vault with clips in it, and the byte-by-byte search of a backup."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import FAST_LOG_N
from tests.retention.conftest import PATTERN, headers, ingest, needles
from tests.tools import PASSPHRASE, files_with
from vault.service import Vault

START = datetime(2026, 11, 1, tzinfo=UTC)

__all__ = ["START", "filled", "headers", "ingest", "needles", "files_holding"]


@pytest.fixture
def filled(tmp_path: Path) -> Iterator[tuple[Vault, Path]]:
    """A vault (fast KDF, unlocked) with a camera and four clips."""
    v = Vault.init(tmp_path / "vault", PASSPHRASE, log_n=FAST_LOG_N)
    drop = tmp_path / "drop" / "front"
    drop.mkdir(parents=True)
    v.cameras.add("front", drop, pattern=PATTERN)
    ingest(v, drop, [START + timedelta(minutes=i) for i in range(4)])
    yield v, drop
    v.close()


def files_holding(root: Path, needle: bytes) -> list[str]:
    """Every file under *root* (every byte of it) that contains *needle*,
    searched by a child process (tests.tools.files_with)."""
    return files_with(root, [needle])[0]
