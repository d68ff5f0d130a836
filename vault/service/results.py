"""What the services return: frozen read models and results, one vocabulary
for the CLI, the TUI and the daemon."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RefusalResult:
    """A refusal: its signed receipt, and where the receipt was written (if asked)."""

    receipt: dict[str, Any]
    receipt_path: Path | None
