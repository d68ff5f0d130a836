"""Recovery at the daemon's start: what a killed sealing left, and never more.

A crash between storing a payload and committing its catalog row leaves a
blob with an intent note (its plaintext is still in the drop folder and will
be sealed again); only such a blob is deleted. A blob without an intent, or
one the audit log recorded as sealed, is kept whatever the catalog says, and
``status`` and ``clips verify`` report it. A catalog that is behind the vault
(restored from an older backup) is refused before anything is touched.
"""

from __future__ import annotations

import logging

from vault.audit.note import parse_checkpoint, split_note
from vault.config import CATALOG_NAME
from vault.errors import IntegrityError, VaultError
from vault.service import Vault
from vault.service.census import StoreCensus

log = logging.getLogger("ringfence.daemon")

RECOVER_HOW = (
    f"Nothing was deleted. Restore the newest backup of {CATALOG_NAME} (with the daemon "
    "stopped); if there is none, see 'A catalog behind the store' in docs/daemon.md."
)


def check_catalog_current(vault: Vault, census: StoreCensus) -> None:
    """Refuse (VaultError, exit 9) a catalog that is behind the vault's own records.

    The checkpoint copy beside the catalog is written after every signed
    checkpoint; a catalog whose log is shorter is older than that, and sealing
    on it would mix two histories. An intent note that names a longer log says
    the same.
    """
    note = vault.audit.read_copy()
    if note is not None:
        try:
            copied = parse_checkpoint(split_note(note)[0]).size
        except IntegrityError:
            copied = -1  # `audit verify` names a damaged copy
        if copied > census.log_size:
            raise VaultError(
                f"the catalog is behind this vault: {vault.layout.checkpoint_copy.name} "
                f"covers {copied} audit entries, the catalog's log has {census.log_size} (was "
                f"{vault.layout.catalog.name} restored from an older backup?). {RECOVER_HOW}"
            )
    ahead = [n for n in census.intent_log_sizes.values() if n > census.log_size]
    if ahead:
        raise VaultError(
            f"the catalog is behind this vault: a sealing began when the log had "
            f"{max(ahead)} entries, the catalog's log has {census.log_size} (was "
            f"{vault.layout.catalog.name} restored from an older backup?). {RECOVER_HOW}"
        )


def recover_store(vault: Vault, *, removed_tmp: int = 0) -> None:
    """Delete the blobs of sealings that never committed, clear every intent,
    and say what was kept."""
    census = vault.clips.store_census()
    check_catalog_current(vault, census)
    for blob_id in census.pending:
        vault.store.delete(blob_id)
    for blob_id in census.intent_log_sizes:
        vault.store.clear_intent(blob_id)
    if census.logged:
        log.error(
            "the catalog has lost the rows of %d clip(s) the audit log recorded as sealed "
            "(%s); their payloads were kept. Run `ringfence clips verify`.",
            len(census.logged),
            ", ".join(census.logged[:5]),
        )
    if census.stray:
        log.warning(
            "%d stored clip payload(s) the catalog does not know were kept (%s); run "
            "`ringfence clips verify`.",
            len(census.stray),
            ", ".join(census.stray[:5]),
        )
    if removed_tmp or census.pending:
        log.info(
            "recovered: %d temp file(s), %d uncommitted blob(s) removed",
            removed_tmp,
            len(census.pending),
        )
