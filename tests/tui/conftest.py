"""Fixture vaults for the terminal app: real clips, real requests, a fixed clock.

The demo's own builder makes the data (so the demo is tested too), once per
session into a template folder; each test gets a fresh copy of it. Times are
fixed (the vault's clock) and shown in UTC, and ids are made deterministic
where a snapshot shows them.
"""

from __future__ import annotations

import itertools
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from demo.sample import PASSPHRASE, Demo, build
from tests.tui.helpers import NOW, fixed_clock
from vault.service import Vault
from vault.service.context import IdMaker


@pytest.fixture(autouse=True)
def _screens_in_utc(utc_local_time: None) -> None:
    """Local time is UTC, so screens show the same text on every machine."""


def _deterministic_ids(monkeypatch: pytest.MonkeyPatch, start: int) -> IdMaker:
    """Deterministic ids: returned to inject into ``Vault.open``; also put in
    place of ``vault.ids.new_id``, which a vault the demo builder makes picks
    up (receipts take theirs from the vault, so this covers them too)."""
    from vault import ids

    counters: dict[str, Any] = {}

    def new_id(kind: str) -> str:
        n = next(counters.setdefault(kind, itertools.count(start)))
        return f"{ids.PREFIXES[kind]}_{n:016d}"

    monkeypatch.setattr(ids, "new_id", new_id)
    return new_id


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The demo's vault, built once per session with the fixed clock and ids."""
    root = tmp_path_factory.mktemp("template") / "demo"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TZ", "UTC")
        time.tzset()
        _deterministic_ids(mp, 1)
        demo = build(
            root,
            NOW,
            clock=fixed_clock,
            clip_seconds=1.0,
            size=(160, 120),
            log_n=10,
            say=lambda _text: None,
        )
    time.tzset()
    return demo


@dataclass
class DemoCopy:
    demo: Demo
    vault: Vault

    @property
    def ids(self) -> dict[str, str]:
        return self.demo.requests


@pytest.fixture
def demo(
    demo_template: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DemoCopy]:
    """A private copy of the demo vault, opened with the fixed clock."""
    new_id = _deterministic_ids(monkeypatch, 1000)
    root = tmp_path / "demo"
    shutil.copytree(demo_template.root, root, symlinks=True)
    # The catalog names the template's drop folders: point it at the copy's
    # (new folders, so their identities are recorded anew when first seen).
    with sqlite3.connect(root / "vault" / "catalog.db") as db:
        db.execute(
            "UPDATE camera_folder SET path = replace(path, ?, ?), identity = NULL",
            (str(demo_template.root), str(root)),
        )
    db.close()
    copy = Demo(
        root, {k: root / "drop" / k for k in demo_template.drops}, dict(demo_template.requests)
    )
    vault = Vault.open(copy.vault_dir, clock=fixed_clock, new_id=new_id)
    yield DemoCopy(copy, vault)
    vault.close()


@pytest.fixture
def empty_vault(tmp_path: Path) -> Iterator[Vault]:
    Vault.init(tmp_path / "empty", PASSPHRASE, log_n=10).close()
    vault = Vault.open(tmp_path / "empty", clock=fixed_clock)
    yield vault
    vault.close()
