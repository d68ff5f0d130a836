"""What the services return: frozen read models and results, one vocabulary
for the CLI, the TUI and the daemon."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vault.jsonout import json_name, to_json

__all__ = ["RefusalResult", "json_name", "to_json"]


@dataclass(frozen=True)
class RefusalResult:
    """A refusal: its signed receipt, and where the receipt was written (if asked)."""

    receipt: dict[str, Any]
    receipt_path: Path | None
