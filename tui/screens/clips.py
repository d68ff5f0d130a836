"""Browsing the vault: clips by camera and day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from tui.format import duration, human_size, local
from tui.screens.base import VaultScreen
from tui.widgets.status_bar import StatusBar
from tui.widgets.tables import ClipTable, LazyTable, cell
from vault.service import CameraInfo, ClipInfo

PAGE = 500


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The start and end of a local calendar day, as aware datetimes."""
    start = datetime(day.year, day.month, day.day).astimezone()
    nxt = day + timedelta(days=1)
    return start, datetime(nxt.year, nxt.month, nxt.day).astimezone()


class ClipsScreen(VaultScreen):
    """Cameras on the left; one day of the chosen camera's clips on the right."""

    TITLE = "Clips"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="clips.back"),
        Binding(
            "left_square_bracket", "day(-1)", "Day before", key_display="[", id="clips.prev_day"
        ),
        Binding(
            "right_square_bracket", "day(1)", "Day after", key_display="]", id="clips.next_day"
        ),
        Binding("p", "preview", "Preview", id="clips.preview"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.camera: str | None = None
        self.day: date | None = None
        self.clips: list[ClipInfo] = []
        self._counts: dict[str, int] = {}
        self._generation = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="browser"):
            yield OptionList(id="cameras")
            with Vertical():
                yield Static("Loading cameras…", id="day")
                table = ClipTable(id="clips")
                # Fixed widths: no re-measuring as pages arrive, no jitter.
                table.add_column("Captured", key="captured", width=8)
                table.add_column("Length", key="length", width=7)
                table.add_column("Size", key="size", width=9)
                table.add_flex_column("Picture", key="picture", min_width=9, max_width=14)
                table.add_flex_column("File", key="file", min_width=12)
                yield table
        yield StatusBar()
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.call_vault(self.vault.cameras.all, self._cameras_loaded, name="cameras")

    def _cameras_loaded(self, cameras: list[CameraInfo]) -> None:
        options = self.query_one("#cameras", OptionList)
        options.clear_options()
        for cam in cameras:
            options.add_option(Option(f"{cam.name} ({cam.clips})", id=cam.name))
        if not cameras:
            self.query_one("#day", Static).update(
                "No cameras yet: add one with `ringfence camera add NAME FOLDER`."
            )
            return
        self._counts = {c.name: c.clips for c in cameras}
        options.highlighted = 0
        self.query_one(ClipTable).focus()

    @on(OptionList.OptionHighlighted, "#cameras")
    def _camera_chosen(self, event: OptionList.OptionHighlighted) -> None:
        name = str(event.option.id)
        if name == self.camera:
            return
        self.camera = name
        count = self._counts.get(name, 0)

        def latest_day() -> date:
            if count == 0:
                return local(self.now()).date()
            last = self.vault.clips.all(camera=name, offset=count - 1, limit=1)
            when = last[0].captured_at if last else self.now()
            return local(when).date()

        self.call_vault(latest_day, self.show_day, name="latest day")

    def show_day(self, day: date) -> None:
        self.day = day
        self._generation += 1
        self.clips = []
        self.query_one(ClipTable).reset()
        self.query_one("#day", Static).update(
            f"{self.camera}: {day:%a %Y-%m-%d}   [ day before · ] day after"
        )
        self._load_page()

    def _load_page(self) -> None:
        if self.camera is None or self.day is None:
            return
        camera, generation, offset = self.camera, self._generation, len(self.clips)
        since, until = day_bounds(self.day)
        self.call_vault(
            lambda: self.vault.clips.all(
                camera=camera, since=since, until=until, limit=PAGE, offset=offset
            ),
            lambda page: self._page_loaded(generation, page),
            name="day clips",
        )

    def _page_loaded(self, generation: int, page: list[ClipInfo]) -> None:
        if generation != self._generation or self.day is None:
            return
        table = self.query_one(ClipTable)
        self.clips.extend(page)
        for c in page:
            picture = f"{c.width}×{c.height} {c.codec or ''}" if c.width else (c.codec or "-")
            table.add_row(
                local(c.captured_at).strftime("%H:%M:%S"),
                duration(c.duration_s),
                human_size(c.size),
                cell(picture),
                cell(c.original_name + (" [truncated]" if c.truncated else "")),
                key=c.id,
            )
        table.page_loaded(len(page), PAGE)
        more = "+" if not table.exhausted else ""
        self.query_one("#day", Static).update(
            f"{self.camera}: {self.day:%a %Y-%m-%d}, {len(self.clips)}{more} clip(s)   "
            "[ day before · ] day after"
        )

    @on(LazyTable.NeedMore, "#clips")
    def _need_more(self, _event: LazyTable.NeedMore) -> None:
        self._load_page()

    def action_day(self, step: int) -> None:
        if self.day is not None:
            self.show_day(self.day + timedelta(days=step))

    @on(DataTable.RowSelected, "#clips")
    def action_preview(self) -> None:
        from tui.screens.preview import start_preview

        table = self.query_one(ClipTable)
        if table.row_count == 0:
            return
        start_preview(self.rf, self.clips[table.cursor_row], "browsing my own footage", self.clips)

    def action_back(self) -> None:
        self.dismiss()
