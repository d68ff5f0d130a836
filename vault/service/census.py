"""Which clip payloads in the store the catalog does not know, and what the
log says of every clip: read without SQLAlchemy, so ``status`` starts fast.

Used by ``status`` (through a :mod:`vault.catalog.snapshot`), by recovery at
the daemon's start and by ``clips verify`` (on the engine's own connection).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vault.audit import events, reads
from vault.canonical import parse_canonical
from vault.catalog.snapshot import CatalogSnapshot, read_snapshot
from vault.errors import IntegrityError
from vault.store import BlobStore


@dataclass(frozen=True)
class StoreCensus:
    """Clip payloads in the store the catalog does not know, read with the
    catalog and its log in one snapshot.

    *logged*: the log recorded their sealing, so their catalog rows were lost
    (a restored or edited catalog); *pending*: an intent note says a sealing
    never committed (recovery removes them); *stray*: neither.
    """

    logged: list[str]
    pending: list[str]
    stray: list[str]
    log_size: int
    intent_log_sizes: dict[str, int]

    @property
    def unknown(self) -> list[str]:
        return sorted(self.logged + self.pending + self.stray)


def intent_log_size(data: bytes) -> int | None:
    """The log size an intent note recorded, or None if it is not one of ours."""
    try:
        value = json.loads(data)["log_size"]
    except (ValueError, KeyError, TypeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def logged_clips(conn: sqlite3.Connection) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """From the audit log, on *conn* (inside the caller's snapshot): what each
    ``clip.sealed`` entry recorded, by clip id (with the header hash of its
    latest ``clips.readdressed`` entry, if any), and the ids with a
    ``clip.shredded`` entry. Entries are parsed, not trusted for their bytes:
    ``audit verify`` proves those."""
    sealed: dict[str, dict[str, Any]] = {}
    shredded: set[str] = set()
    for data in reads.entries_of_types(
        conn, (events.CLIP_SEALED, events.CLIP_SHREDDED, events.CLIPS_READDRESSED)
    ):
        try:
            entry = parse_canonical(data)
            kind, subject, details = entry["type"], entry["subject"], entry["details"]
        except (IntegrityError, ValueError, KeyError, TypeError):
            continue  # `audit verify` names a malformed entry
        if not isinstance(details, dict):
            continue
        if kind == events.CLIPS_READDRESSED:
            # A recovery key added or revoked: the headers named have new hashes.
            headers = details.get("headers")
            for clip_id, digest in headers.items() if isinstance(headers, dict) else ():
                if clip_id in sealed and isinstance(digest, str):
                    sealed[clip_id] = {**sealed[clip_id], "header_sha256": digest}
            continue
        if not isinstance(subject, str):
            continue
        if kind == events.CLIP_SEALED:
            sealed[subject] = details
        elif kind == events.CLIP_SHREDDED:
            shredded.add(subject)
    return sealed, shredded


class StoreListing:
    """The store's clip payloads and intent notes, listed before the catalog
    is read: a payload listed was in the store before that snapshot, so if its
    row was not yet committed its intent was still there when the intents
    were listed. A sealing in flight is therefore *pending*, never *stray*."""

    def __init__(self, store: BlobStore) -> None:
        self.blobs = [b for b in store.ids() if b.startswith("clp_")]
        self.intents = {
            blob_id: size
            for blob_id, data in store.intents().items()
            if (size := intent_log_size(data)) is not None
        }

    def census(self, snap: CatalogSnapshot) -> StoreCensus:
        """Compare the listing with the catalog and log of *snap* (read after it)."""
        known = snap.clip_ids()
        sealed, _shredded = logged_clips(snap.connection)
        census = StoreCensus([], [], [], reads.log_size(snap.connection), self.intents)
        for blob_id in self.blobs:
            if blob_id in known:
                continue
            if blob_id in sealed:
                census.logged.append(blob_id)
            elif blob_id in self.intents:
                census.pending.append(blob_id)
            else:
                census.stray.append(blob_id)
        return census


def store_census(store: BlobStore, catalog: Path) -> StoreCensus:
    """The census of *store* against the catalog at *catalog*, in one snapshot."""
    listing = StoreListing(store)
    with read_snapshot(catalog) as snap:
        return listing.census(snap)
