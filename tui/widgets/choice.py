"""A radio button whose choice is readable without colour."""

from __future__ import annotations

from textual.widgets import RadioButton


class ChoiceButton(RadioButton):
    """Shows ``●`` when chosen and an empty slot when not.

    Textual's radio button draws the same ``●`` either way and tells them
    apart by colour only, which a monochrome terminal (or ``NO_COLOR``) loses.
    """

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]  # the name Textual reads
        return "●" if self.value else " "
