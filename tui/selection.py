"""Which clips of a request's scope the owner has ticked.

A scope can hold thousands of clips that are loaded page by page, so the
selection is kept as "all except these" or "only these" and handed to
``vault.decide`` in that same form (``exclude=`` or ``clips=``): nothing the
owner has not seen loaded can slip in or out by accident.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class Selection:
    everything: bool = True  # True: all clips except `toggled`; False: only `toggled`
    toggled: set[str] = field(default_factory=set)

    def __contains__(self, clip_id: object) -> bool:
        return (clip_id not in self.toggled) if self.everything else (clip_id in self.toggled)

    def toggle(self, clip_id: str) -> bool:
        """Flip one clip; returns whether it is now selected."""
        self.toggled ^= {clip_id}
        return clip_id in self

    def select_all(self) -> None:
        self.everything, self.toggled = True, set()

    def select_none(self) -> None:
        self.everything, self.toggled = False, set()

    def is_all(self) -> bool:
        return self.everything and not self.toggled

    def is_none(self) -> bool:
        return not self.everything and not self.toggled

    def chosen(self, clip_ids: Iterable[str]) -> list[str]:
        return [c for c in clip_ids if c in self]

    def decide_args(self) -> dict[str, list[str] | None]:
        """The ``clips=`` / ``exclude=`` arguments of ``vault.decide`` for this selection."""
        if self.everything:
            return {"clips": None, "exclude": sorted(self.toggled) or None}
        return {"clips": sorted(self.toggled), "exclude": None}
