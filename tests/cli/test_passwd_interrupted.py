"""A `key passwd` killed half way never leaves the two key files under two passphrases.

`key passwd` writes ``owner.age.next`` and ``signing.age.next`` under the new
passphrase, then renames each into place. Each state a kill can leave is built
here from a real vault and then unlocked with the old and the new passphrase.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FAST_LOG_N
from tests.tools import PASSPHRASE
from vault.config import Layout
from vault.errors import PassphraseError
from vault.keys import NEXT_SUFFIX, _identity_file, _seal, _signing_file, unlock
from vault.service import Vault

NEW = "a new and longer passphrase"


def staged_vault(tmp_path: Path, stage: str) -> Layout:
    vault = Vault.init(tmp_path / "vault", PASSPHRASE, log_n=FAST_LOG_N)
    keys = vault.owner_keys()
    layout = vault.layout
    vault.close()
    files = {
        layout.owner_identity: _seal(_identity_file(keys.identity), NEW, FAST_LOG_N),
        layout.owner_signing: _seal(_signing_file(keys.signing_key), NEW, FAST_LOG_N),
    }
    written = {"first .next": 1, "both .next": 2, "first renamed": 2}[stage]
    for final, data in list(files.items())[:written]:
        final.with_name(final.name + NEXT_SUFFIX).write_bytes(data)
    if stage == "first renamed":
        first = layout.owner_identity
        first.with_name(first.name + NEXT_SUFFIX).replace(first)
    return layout


def leftovers(layout: Layout) -> list[str]:
    return sorted(p.name for p in layout.keys.iterdir() if p.name.endswith(NEXT_SUFFIX))


def test_killed_after_the_first_next_file_keeps_the_old_passphrase(tmp_path: Path) -> None:
    layout = staged_vault(tmp_path, "first .next")
    with pytest.raises(PassphraseError):
        unlock(layout, NEW)  # one key would open, the other not: nothing is promoted
    assert leftovers(layout) == ["owner.age.next"]
    unlock(layout, PASSPHRASE)
    assert leftovers(layout) == []  # the unconfirmed file is gone
    unlock(layout, PASSPHRASE)
    with pytest.raises(PassphraseError):
        unlock(layout, NEW)


@pytest.mark.parametrize("first", [PASSPHRASE, NEW])
def test_killed_with_both_next_files_either_passphrase_gives_one_whole_state(
    tmp_path: Path, first: str
) -> None:
    layout = staged_vault(tmp_path, "both .next")
    unlock(layout, first)
    assert leftovers(layout) == []
    other = NEW if first == PASSPHRASE else PASSPHRASE
    unlock(layout, first)
    with pytest.raises(PassphraseError):
        unlock(layout, other)


def test_killed_after_the_first_rename_finishes_under_the_new_passphrase(tmp_path: Path) -> None:
    layout = staged_vault(tmp_path, "first renamed")
    with pytest.raises(PassphraseError):
        unlock(layout, PASSPHRASE)
    assert leftovers(layout) == ["signing.age.next"]
    keys = unlock(layout, NEW)
    assert leftovers(layout) == []
    assert keys.signing_key is not None
    with pytest.raises(PassphraseError):
        unlock(layout, PASSPHRASE)
