"""Fixtures for the age tests: keys, a fast scrypt setting, and external tools.

``require_tool("age")`` skips a test (printing why) when a binary is missing,
unless RINGFENCE_REQUIRE_TOOLS=1, as on CI, where it fails instead.
"""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from vault import age

TESTKIT = Path(__file__).parent / "testkit"
FAST_LOG_N = 10


def _missing(what: str) -> None:
    reason = f"{what} is not available"
    if os.environ.get("RINGFENCE_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{reason}, and RINGFENCE_REQUIRE_TOOLS=1 requires it")
    print(f"SKIP: {reason}")
    pytest.skip(reason)


def require_tool(name: str) -> str:
    """The path of binary *name*; skip (or fail on CI) when it is missing."""
    path = shutil.which(name)
    if path is None:
        _missing(f"the '{name}' binary")
        raise AssertionError("unreachable")
    return path


def require_module(name: str) -> ModuleType:
    """Import Python module *name*; skip (or fail on CI) when it is missing."""
    try:
        return importlib.import_module(name)
    except ImportError:
        _missing(f"the Python module '{name}'")
        raise AssertionError("unreachable") from None


@pytest.fixture(name="require_tool")
def require_tool_fixture() -> Callable[[str], str]:
    return require_tool


@pytest.fixture(name="require_module")
def require_module_fixture() -> Callable[[str], ModuleType]:
    return require_module


@pytest.fixture(scope="session")
def identity() -> age.X25519Identity:
    return age.generate_identity()


@pytest.fixture(scope="session")
def other_identity() -> age.X25519Identity:
    return age.generate_identity()


@pytest.fixture
def fast_scrypt() -> Callable[[str], age.ScryptRecipient]:
    return lambda passphrase: age.ScryptRecipient(passphrase, log_n=FAST_LOG_N)
