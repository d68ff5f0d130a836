"""What will leave the house if the owner approves: the clips, counted and described."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rich.text import Text

from tui.format import human_size, short_time
from vault.service import ClipInfo, RequestInfo


@dataclass(frozen=True)
class ReleaseSummary:
    request: RequestInfo
    clips: list[ClipInfo]  # exactly the clips the approval releases, in capture order
    in_scope: int

    @property
    def total_bytes(self) -> int:
        return sum(c.size for c in self.clips)

    @property
    def partial(self) -> bool:
        return len(self.clips) < self.in_scope

    def cameras(self) -> list[tuple[str, int]]:
        return sorted(Counter(c.camera for c in self.clips).items())

    def render(self) -> Text:
        text = Text()
        n = len(self.clips)
        text.append(f"{n} of {self.in_scope} clip{'s' if self.in_scope != 1 else ''}", style="bold")
        text.append(" in scope will leave the house" if n else " selected: nothing would leave")
        if self.partial and n:
            text.append(" (a partial approval)", style="yellow")
        text.append("\n")
        if not n:
            return text
        cams = ", ".join(f"{name} ({count})" for name, count in self.cameras())
        text.append(f"Cameras: {cams}\n")
        text.append(
            f"Captured: {short_time(self.clips[0].captured_at)} → "
            f"{short_time(self.clips[-1].captured_at)}   "
            f"Size: {human_size(self.total_bytes)}\n"
        )
        text.append(f"To: {self.request.requester}, {self.request.organisation}")
        if self.request.recipient:
            text.append(", encrypted to their age key if exported as age")
        text.append(".\nThe signed receipt names every clip and its SHA-256.", style="dim")
        return text
