"""What the services return: frozen read models and results, one vocabulary
for the CLI, the TUI and the daemon.

Each result's ``--json`` form is ``to_json(result)`` (vault.jsonout): the
field metadata below says where it differs from the field names. Nothing
here imports SQLAlchemy or cryptography, so that ``ringfence status`` can
build its report without them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from vault.jsonout import JSON_OMIT, JSON_OMIT_NONE, json_name, to_json

__all__ = [
    "DecisionResult",
    "ExportResult",
    "ScrubResult",
    "ShredResult",
    "json_name",
    "to_json",
]


@dataclass(frozen=True)
class DecisionResult:
    """A decision the owner signed: its receipt, and where the receipt was
    written (a refusal's, when a folder was asked for).

    JSON: ``{"receipt": {...}}``, with ``"receipt_path"`` when one was written.
    """

    receipt: dict[str, Any]
    receipt_path: Path | None = field(default=None, metadata=JSON_OMIT_NONE)

    @property
    def request_id(self) -> str:
        return str(self.receipt["request"]["id"])

    @property
    def outcome(self) -> str:
        return str(self.receipt["decision"]["outcome"])

    @property
    def clips(self) -> list[dict[str, Any]]:
        """The receipt's clips: what the decision releases (none for a refusal)."""
        return list(self.receipt.get("clips") or [])


@dataclass(frozen=True)
class ExportResult:
    """An export that was written: its id, its folder and its signed receipt.

    JSON: ``{"export": id, "out": folder, "files": number of clips}`` (the
    receipt is in the folder; ``receipt show`` prints it).
    """

    export_id: str = field(metadata=json_name("export"))
    out: Path
    receipt: dict[str, Any] = field(metadata=JSON_OMIT)

    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = ("files",)

    @property
    def clips(self) -> list[dict[str, Any]]:
        """The receipt's clips, each with what was delivered."""
        return list(self.receipt.get("clips") or [])

    @property
    def files(self) -> int:
        return len(self.clips)


@dataclass(frozen=True)
class ScrubResult:
    """The catalog files after a shred: the write-ahead log truncated, whether
    the database was rebuilt, and the files still holding a shredded key
    (always empty: a copy that survives is an IntegrityError)."""

    wal_truncated: bool
    vacuumed: bool
    copies_left: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShredResult:
    """One clip the owner shredded: when, its signed deletion record, the scrub."""

    clip: str
    shredded_at: datetime
    record: str
    scrub: ScrubResult
