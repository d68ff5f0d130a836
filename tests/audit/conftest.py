"""Fixtures for the audit log: a real catalog in tmp_path, signers, a steady clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from vault.audit.log import AuditLog
from vault.audit.note import NoteSigner
from vault.catalog.db import open_catalog

ORIGIN = "ringfence.vault/test"


class StepClock:
    """A clock that advances one millisecond per reading (and can be set back)."""

    def __init__(self, start: datetime = datetime(2026, 11, 28, 15, 20)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "catalog.db"


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    eng = open_catalog(db_path)
    yield eng
    eng.dispose()


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture
def log(engine: Engine, clock: StepClock) -> AuditLog:
    return AuditLog(engine, ORIGIN, clock=clock, events=None)


def _signer(name: str, seed: int) -> NoteSigner:
    return NoteSigner(name, Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


@pytest.fixture
def device() -> NoteSigner:
    return _signer(f"{ORIGIN}/device", 1)


@pytest.fixture
def owner() -> NoteSigner:
    return _signer(f"{ORIGIN}/owner", 2)


@pytest.fixture
def keys(device: NoteSigner, owner: NoteSigner) -> list[str]:
    return [device.verifier_key(), owner.verifier_key()]


@pytest.fixture
def fill(log: AuditLog) -> Callable[[int], list[int]]:
    """Append *n* varied entries in one batch."""

    def fill(n: int, start: int = 0) -> list[int]:
        return log.append_many(
            [
                (
                    "clip.sealed",
                    {
                        "actor": "daemon",
                        "subject": f"clp_{i:06d}",
                        "details": {
                            "camera": "front",
                            "size": 1000 + i,
                            "sha256": f"{i:064x}",
                            "name": f"clip {i}.mp4",
                        },
                    },
                )
                for i in range(start, start + n)
            ]
        )

    return fill
