"""Tables that load their rows in pages, as the owner scrolls towards the end."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable


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
        near_bottom = (self.scroll_y + self.size.height
                       >= self.virtual_size.height - self.THRESHOLD)
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
