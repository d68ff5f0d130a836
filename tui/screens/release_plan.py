"""The release plan, shown before the owner signs: what each approved clip becomes.

A clip that runs past the request's window is cut from the keyframe at or
before it, so more than was asked may show: the plan gives the window each
cut discloses, and the owner signs it or goes back.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Static

from tui.screens.base import VaultModal
from vault.transform.plan import describe


def plan_lines(release: Any) -> list[str]:
    """The plan in words, one line per operation."""
    c = release.choices
    lines = [
        f"Cut: {c.cut.value}"
        + ("; sound removed" if c.strip_audio else "")
        + ("; faces blurred" if c.blur_faces else "")
    ]
    for clip in release.clips:
        if not clip.operations:
            lines.append(
                f"{clip.clip}: the original file, unchanged"
                + (f" ({clip.note})" if clip.note else "")
            )
            continue
        lines.append(f"{clip.clip}:")
        lines += [f"  - {describe(op)}" for op in clip.operations]
    return lines


def needs_confirming(release: Any) -> bool:
    """Whether the plan changes any clip (a cut, sound removed): then the owner
    sees it before signing. Originals released whole need no second look."""
    return any(clip.operations for clip in release.clips)


class ReleasePlanScreen(VaultModal[bool]):
    """Dismisses with True to sign the plan, False to go back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Back", id="plan.cancel"),
        Binding("ctrl+s", "confirm", "Sign", id="plan.confirm"),
    ]

    def __init__(self, release: Any) -> None:
        super().__init__()
        self.release = release

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="plan-dialog"):
            yield Static("What leaves: the release plan you sign", classes="dialog-title")
            yield Static("\n".join(plan_lines(self.release)), id="plan", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Sign", variant="success", id="ok", compact=True)
                yield Button("Back", id="cancel", compact=True)

    @on(Button.Pressed, "#ok")
    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
