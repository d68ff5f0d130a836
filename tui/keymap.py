"""Every remappable key binding, by id.

Each binding the app declares has an id (``screen.action``). Owners remap keys
in the vault's config.toml::

    [tui.keys]
    "request.approve" = "ctrl+a"
    "request.refuse" = "ctrl+r,f10"

docs/tui.md lists the ids; a test keeps that list in step with this module.
"""

from __future__ import annotations

from functools import cache

from textual.binding import Binding
from textual.dom import DOMNode


def binding_classes() -> list[type[DOMNode]]:
    from tui.app import RingfenceApp
    from tui.screens.approve import ApproveScreen
    from tui.screens.audit import AuditScreen
    from tui.screens.clips import ClipsScreen
    from tui.screens.export import ExportScreen
    from tui.screens.help import HelpScreen
    from tui.screens.inbox import InboxScreen
    from tui.screens.passphrase import PassphraseScreen
    from tui.screens.preview import PreviewScreen
    from tui.screens.refuse import RefuseScreen
    from tui.screens.request import RequestScreen
    from tui.widgets.tables import ClipTable, RequestTable

    return [
        RingfenceApp,
        InboxScreen,
        RequestScreen,
        ApproveScreen,
        RefuseScreen,
        PassphraseScreen,
        ExportScreen,
        PreviewScreen,
        ClipsScreen,
        AuditScreen,
        HelpScreen,
        RequestTable,
        ClipTable,
    ]


def declared_bindings() -> list[tuple[str, Binding]]:
    """(class name, binding) for every binding with an id, in declaration order."""
    out = []
    for cls in binding_classes():
        for b in cls.__dict__.get("BINDINGS", []):
            if isinstance(b, Binding) and b.id:
                out.append((cls.__name__, b))
    return out


@cache
def known_binding_ids() -> frozenset[str]:
    return frozenset(b.id for _cls, b in declared_bindings() if b.id)
