"""Tables that load their rows in pages, as the owner scrolls towards the end."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey


def cell(text: str) -> Text:
    """A cell of outside text: never markup, one line, cut with an ellipsis at its width."""
    return Text(" ".join(text.split()), no_wrap=True, overflow="ellipsis", end="")


class LazyTable(DataTable[Any]):
    """A row-cursor table that asks its screen for the next page near its end.

    The screen answers :class:`NeedMore` by loading a page in a worker and
    calling :meth:`page_loaded`; a short page means there is nothing more.
    """

    THRESHOLD = 25  # rows from the end at which the next page is asked for
    BINDINGS: ClassVar[list[BindingType]] = [
        # Rows, not columns, are what these tables are about.
        Binding("home", "scroll_top", "First row", show=False),
        Binding("end", "scroll_bottom", "Last row", show=False),
    ]

    class NeedMore(Message):
        def __init__(self, table: LazyTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> LazyTable:
            return self.table

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.exhausted = False
        self._asking = False
        self._flex: list[tuple[str, int, int | None]] = []

    def add_flex_column(
        self, label: str, key: str, *, min_width: int, max_width: int | None = None
    ) -> None:
        """A column that takes the width the fixed ones leave (at least *min_width*).

        With several, the width left goes to them in the order they were
        added, each up to its *max_width*; the last without one takes the rest.
        Widths are set, not measured from the rows, so paging in more rows
        never makes the columns jump.
        """
        self.add_column(label, key=key, width=min_width)
        self._flex.append((key, min_width, max_width))

    def _on_resize(self, event: events.Resize) -> None:
        super()._on_resize(event)
        self.fit_columns()

    def fit_columns(self) -> None:
        if not self._flex or not self.size.width:
            return
        flex_keys = {ColumnKey(k) for k, _lo, _hi in self._flex}
        pad = 2 * self.cell_padding
        fixed = sum(c.get_render_width(self) for k, c in self.columns.items() if k not in flex_keys)
        spare = self.scrollable_content_region.width - fixed - pad * len(self._flex)
        widths = {}
        for key, lo, _hi in self._flex:
            widths[key] = lo
            spare -= lo
        for key, lo, hi in self._flex:
            extra = max(spare, 0) if hi is None else max(min(spare, hi - lo), 0)
            widths[key] += extra
            spare -= extra
        changed = False
        for key, width in widths.items():
            column = self.columns[ColumnKey(key)]
            if column.width != width:
                column.width = width
                changed = True
        if changed:
            # DataTable has no public call for a width change: drop its caches
            # and size the scrollable area again, as it does for new columns.
            self._clear_caches()
            self.virtual_size = Size(
                sum(c.get_render_width(self) for c in self.columns.values())
                + self._row_label_column_width,
                self.virtual_size.height,
            )
            self.refresh()

    def on_mount(self) -> None:
        self.watch(self, "scroll_y", self._scrolled, init=False)

    def reset(self) -> None:
        """Forget all rows (columns stay) and expect a first page again."""
        self.clear()
        self.exhausted = False
        self._asking = False

    def page_loaded(self, added: int, page_size: int) -> None:
        self._asking = False
        if added < page_size:
            self.exhausted = True

    def _scrolled(self, _old: float, _new: float) -> None:
        self.check_need_more()

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self.check_need_more()

    def check_need_more(self) -> None:
        if self.exhausted or self._asking or self.row_count == 0:
            return
        near_cursor = self.cursor_row >= self.row_count - self.THRESHOLD
        near_bottom = self.scroll_y + self.size.height >= self.virtual_size.height - self.THRESHOLD
        if near_cursor or near_bottom:
            self._asking = True
            self.post_message(self.NeedMore(self))


class RequestTable(LazyTable):
    """The inbox: one row per request. Enter (or a click) opens one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", id="inbox.open"),
    ]


class ClipTable(LazyTable):
    """Clips: camera, capture time, duration, size."""
