"""One request: who asks, on what basis, for what; the clips in scope; the decision."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from tui.format import (
    basis_label,
    clock_time,
    duration,
    human_size,
    outcome_label,
    relative,
    short_time,
    status_text,
)
from tui.screens.base import VaultScreen
from tui.screens.release_plan import ReleasePlanScreen, needs_confirming
from tui.selection import Selection
from tui.strip_loader import StripLoader
from tui.summary import ReleaseSummary
from tui.widgets.status_bar import StatusBar
from tui.widgets.strip import FrameStrip
from tui.widgets.tables import ClipTable, LazyTable
from vault.service import RELEASABLE, ClipInfo, DecisionResult, RequestInfo, Status

if TYPE_CHECKING:
    from vault.service import Viewing

PAGE = 200
AUTO_LOAD = 5000  # clips read without scrolling; beyond this, pages follow the scroll


def unique_folder(base: Path) -> Path:
    """*base*, or *base*-2, -3 … whichever does not exist yet."""
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def detail(r: RequestInfo, now_text: Callable[[object], str]) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(ratio=1)
    who = Text(f"{r.requester}, {r.organisation}")
    who.append(f"  ({r.kind})", style="dim")
    grid.add_row("Who", who)
    basis = Text(basis_label(r.basis), style="bold red" if r.urgent else "bold")
    basis.append(f"   reference: {r.reference or '-'}", style="")
    grid.add_row("Legal basis", basis)
    grid.add_row("Reason", Text(r.reason))
    deadline = Text(short_time(r.deadline))
    if r.deadline is not None and r.status == Status.PENDING:
        deadline.append(f" ({now_text(r.deadline)})", style="bold yellow")
    deadline.append("   status: ")
    deadline.append_text(status_text(r.status))
    grid.add_row("Deadline", deadline)
    grid.add_row(
        "Scope", f"{', '.join(r.cameras)}: {short_time(r.scope_from)} → {short_time(r.scope_to)}"
    )
    if r.contact:
        grid.add_row("Contact", r.contact)
    if r.urgent and r.status == Status.PENDING:
        grid.add_row(
            "",
            Text(
                "An emergency claim is not a court order: nothing leaves without your decision.",
                style="red",
            ),
        )
    if r.decision:
        d = r.decision
        line = Text(outcome_label(d["outcome"]), style="bold")
        line.append(f": {d['reason']}")
        if d.get("expires_at"):
            line.append(f"  (until {d['expires_at']})", style="dim")
        grid.add_row("Decision", line)
    if r.exports:
        last = r.exports[-1]
        grid.add_row("Exported", f"{len(r.exports)}×, last to {last['out_dir']}")
    return grid


class RequestScreen(VaultScreen):
    """A request in full, and the clips it asks for, each selectable."""

    TITLE = "Request"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="request.back"),
        Binding("space", "tick", "Tick", id="request.toggle"),
        Binding("t", "tick_all", "All/none", id="request.toggle_all", show=False),
        Binding("p", "preview", "Preview", id="request.preview"),
        Binding("f", "strip", "Frames", id="request.strip"),
        Binding("a", "approve", "Approve", id="request.approve"),
        Binding("x", "refuse", "Refuse", id="request.refuse"),
        Binding("e", "export", "Export", id="request.export"),
        Binding("o", "reopen", "Decide again", id="request.reopen", show=False),
    ]

    def __init__(self, request_id: str) -> None:
        super().__init__()
        self.request_id = request_id
        self.info: RequestInfo | None = None
        self.clips: list[ClipInfo] = []
        self.selection = Selection()
        self._released: set[str] = set()
        self.strip_loader: StripLoader | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Loading the request…", id="detail")
        yield Static("", id="selection")
        yield FrameStrip(id="strip")
        table = ClipTable(id="clips")
        # Fixed widths: no re-measuring as pages arrive, no jitter.
        table.add_column("", key="tick", width=3)
        table.add_column("Camera", key="camera", width=12)
        table.add_column("Captured", key="captured", width=19)
        table.add_column("Length", key="length", width=6)
        table.add_column("Size", key="size", width=9)
        table.add_flex_column("Picture", key="picture", min_width=12)
        yield table
        yield StatusBar()
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.sub_title = self.request_id
        self.watch(self.app, "key_unlocked", self._lock_changed, init=False)
        self.load()
        self._load_clips()  # at the same time: the clips need not wait for the details

    # --- loading -------------------------------------------------------------------

    def load(self) -> None:
        self.call_vault(
            lambda: self.vault.requests.get(self.request_id), self._request_loaded, name="request"
        )

    def _request_loaded(self, info: RequestInfo) -> None:
        self.info = info
        self.query_one("#detail", Static).update(
            detail(info, lambda when: relative(when, self.now()))  # type: ignore[arg-type]
        )
        self._released = set(info.decision["clips"]) if info.decision else set()
        self._redraw_ticks()
        self._show_selection()
        self.refresh_bindings()

    def _load_clips(self) -> None:
        offset = len(self.clips)
        self.call_vault(
            lambda: self.vault.requests.scope_clips(self.request_id, limit=PAGE, offset=offset),
            self._clips_loaded,
            name="scope clips",
        )

    def _clips_loaded(self, page: list[ClipInfo]) -> None:
        table = self.query_one(ClipTable)
        self._add_rows(page)
        table.page_loaded(len(page), PAGE)
        if not table.exhausted and len(self.clips) < AUTO_LOAD:
            self._load_clips()
        self._show_selection()

    def _add_rows(self, page: list[ClipInfo]) -> None:
        table = self.query_one(ClipTable)
        self.clips.extend(page)
        for c in page:
            picture = f"{c.width}×{c.height} {c.codec or ''}" if c.width else (c.codec or "-")
            table.add_row(
                self._tick(c.id),
                c.camera,
                clock_time(c.captured_at),
                duration(c.duration_s),
                human_size(c.size),
                picture,
                key=c.id,
            )

    @on(LazyTable.NeedMore, "#clips")
    def _need_more(self, _event: LazyTable.NeedMore) -> None:
        self._load_clips()

    def with_all_clips(self, then: Callable[[], None]) -> None:
        """Run *then* once every clip in scope is loaded (the summary counts them all)."""
        table = self.query_one(ClipTable)
        if table.exhausted:
            then()
            return
        offset = len(self.clips)

        def loaded(rest: list[ClipInfo]) -> None:
            self._add_rows(rest)
            table.page_loaded(0, PAGE)
            self._show_selection()
            then()

        self.call_vault(
            lambda: self.vault.requests.scope_clips(self.request_id, offset=offset),
            loaded,
            name="all scope clips",
        )

    # --- selection -------------------------------------------------------------------

    @property
    def pending(self) -> bool:
        return self.info is not None and self.info.status == Status.PENDING

    def _tick(self, clip_id: str) -> Text:
        if not self.pending:
            return Text("✔", style="green") if clip_id in self._released else Text("·", "dim")
        return Text("[x]", style="bold green") if clip_id in self.selection else Text("[ ]")

    def _redraw_ticks(self) -> None:
        table = self.query_one(ClipTable)
        for c in self.clips:
            table.update_cell(c.id, "tick", self._tick(c.id))

    def _show_selection(self) -> None:
        table = self.query_one(ClipTable)
        more = "" if table.exhausted else "+"
        n = len(self.clips)
        text = Text()
        if self.info is None:
            pass
        elif n == 0 and table.exhausted:
            text.append(
                "No clips in scope: the vault holds nothing from these cameras in this window.",
                style="yellow",
            )
        elif self.pending:
            chosen = [c for c in self.clips if c.id in self.selection]
            text.append(
                f"Ticked {len(chosen)}{more if self.selection.everything else ''} "
                f"of {n}{more} clips in scope",
                style="bold",
            )
            text.append(f" · {human_size(sum(c.size for c in chosen))}{more}")
            text.append("   space ticks, t all/none, p previews", style="dim")
        else:
            released = sum(1 for c in self.clips if c.id in self._released)
            text.append(f"{released} of {n}{more} clips in scope released by the decision")
        self.query_one("#selection", Static).update(text)

    def _highlighted(self) -> ClipInfo | None:
        table = self.query_one(ClipTable)
        if table.row_count == 0:
            return None
        return self.clips[table.cursor_row]

    def action_tick(self) -> None:
        clip = self._highlighted()
        if clip is None or not self.pending:
            return
        self.selection.toggle(clip.id)
        table = self.query_one(ClipTable)
        table.update_cell(clip.id, "tick", self._tick(clip.id))
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)
        self._show_selection()

    @on(DataTable.RowSelected, "#clips")
    def _row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_tick()

    def action_tick_all(self) -> None:
        if not self.pending:
            return
        if self.selection.is_all():
            self.selection.select_none()
        else:
            self.selection.select_all()
        self._redraw_ticks()
        self._show_selection()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("tick", "tick_all", "approve", "refuse"):
            return self.pending
        if action in ("export", "reopen"):
            return self.info is not None and self.info.status in RELEASABLE
        return True

    # --- decisions ---------------------------------------------------------------------

    def action_back(self) -> None:
        self.dismiss()

    def action_preview(self) -> None:
        from tui.screens.preview import start_preview

        clip = self._highlighted()
        if clip is None or self.info is None:
            return
        org = self.info.organisation
        reason = (
            f"before deciding on the request from {org}"
            if self.pending
            else f"reviewing the {self.info.status.replace('_', ' ')} request from {org}"
        )
        start_preview(self.rf, clip, reason, self.clips)

    # --- the strip of frames ------------------------------------------------------------

    def action_strip(self) -> None:
        """Show (or hide) a strip of frames across the clips in scope.

        Showing decrypts each clip in memory, as the owner's own view (asked
        why, logged per clip); hiding drops every frame.
        """
        strip = self.query_one(FrameStrip)
        if strip.has_class("shown"):
            self._drop_strip()
            return
        if self.info is None:
            return
        from tui.screens.ask import AskScreen

        org = self.info.organisation

        def asked(reason: str | None) -> None:
            if reason:
                self.with_all_clips(lambda: self._open_strip(reason))

        self.app.push_screen(
            AskScreen(
                "Frames of every clip",
                "The strip decrypts each clip in scope in memory, keeps a few small frames of "
                "it, and logs each as your own view. Why are you looking?",
                f"looking along the clips of the request from {org}",
                ok="Decrypt and show",
            ),
            asked,
        )

    def _open_strip(self, reason: str) -> None:
        clips = list(self.clips)
        if not clips:
            self.notify("No clips in scope.", severity="warning")
            return
        self.rf.with_key(lambda: self._start_strip(reason, clips))

    def _start_strip(self, reason: str, clips: list[ClipInfo]) -> None:
        strip = self.query_one(FrameStrip)
        strip.add_class("shown")
        strip.set_clips(clips)
        highlighted = self._highlighted()
        if highlighted is not None:
            strip.focus_clip(highlighted.id)

        def deliver(clip_id: str, frames: list[Any]) -> None:
            with contextlib.suppress(RuntimeError):  # the app is stopping
                self.app.call_from_thread(self._strip_frames, loader, clip_id, frames)

        def open_viewing(clip_ids: list[str]) -> Viewing:
            return self.vault.releases.viewing(clip_ids, reason, via="strip")

        loader = StripLoader(open_viewing, clips, deliver)
        self.strip_loader = loader
        loader.prefer(strip.visible_clips())
        self.call_vault(self.rf.key_job(loader.run), None, name="strip frames")

    def _strip_frames(self, loader: StripLoader, clip_id: str, frames: list[Any]) -> None:
        if loader is self.strip_loader and not loader.stopped:
            self.query_one(FrameStrip).add_frames(clip_id, frames)

    @on(DataTable.RowHighlighted, "#clips")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.strip_loader is None or event.row_key.value is None:
            return
        strip = self.query_one(FrameStrip)
        strip.focus_clip(event.row_key.value)
        self.strip_loader.prefer(strip.visible_clips())

    def _drop_strip(self) -> None:
        if self.strip_loader is not None:
            self.strip_loader.stop()
            self.strip_loader = None
        for strip in self.query(FrameStrip):
            strip.clear()
            strip.remove_class("shown")

    def _lock_changed(self, unlocked: bool) -> None:
        if not unlocked:
            self._drop_strip()  # the frames go with the keys

    def on_unmount(self) -> None:
        self._drop_strip()

    def action_approve(self) -> None:
        if not self.pending or self.info is None:
            return
        from tui.screens.approve import ApproveForm, ApproveScreen

        def show() -> None:
            assert self.info is not None
            chosen = [c for c in self.clips if c.id in self.selection]
            if not chosen:
                self.notify(
                    "No clip is ticked. Tick clips with space, or refuse the request.",
                    severity="warning",
                )
                return
            summary = ReleaseSummary(self.info, chosen, len(self.clips))
            self.app.push_screen(ApproveScreen(summary, self.now()), decided)

        def decided(form: ApproveForm | None) -> None:
            if form is None:
                return
            args = self.selection.decide_args()

            def sign(release: Any) -> None:
                job = self.rf.key_job(
                    lambda: self.vault.requests.decide(
                        self.request_id,
                        approve=True,
                        reason=form.reason,
                        expires=form.expires,
                        terms=form.terms,
                        release=release,
                        clips=args["clips"],
                        exclude=args["exclude"],
                    )
                )
                self.call_vault(job, self._approved, name="decide")

            def planned(release: Any) -> None:
                # A cut discloses from the keyframe before the window: the owner
                # sees each clip's disclosed window before the plan is signed.
                if not needs_confirming(release):
                    sign(release)
                    return
                self.app.push_screen(
                    ReleasePlanScreen(release), lambda ok: sign(release) if ok else None
                )

            plan = self.rf.key_job(
                lambda: self.vault.requests.plan_release(
                    self.request_id, clips=args["clips"], exclude=args["exclude"]
                )
            )
            self.rf.with_key(lambda: self.call_vault(plan, planned, name="plan"))

        self.with_all_clips(show)

    def _approved(self, result: DecisionResult) -> None:
        outcome = outcome_label(result.outcome)
        self.notify(
            f"{outcome.capitalize()}: {len(result.clips)} clip(s). "
            "The signed receipt is stored; now export them.",
            title="Decision signed",
        )
        self.load()
        self.action_export(force=True)

    def action_refuse(self) -> None:
        if not self.pending or self.info is None:
            return
        from tui.screens.refuse import RefuseForm, RefuseScreen

        def refused(form: RefuseForm | None) -> None:
            if form is None:
                return

            def run() -> Path | None:
                return self.vault.releases.refuse(
                    self.request_id, form.reason, form.receipt_dir
                ).receipt_path

            job = self.rf.key_job(run)
            self.rf.with_key(lambda: self.call_vault(job, self._refused, name="decide"))

        default = unique_folder(self.rf.export_dir / f"{self.request_id}-refusal")
        self.app.push_screen(RefuseScreen(self.info, default), refused)

    def _refused(self, receipt_path: Path | None) -> None:
        where = f" Receipt: {receipt_path}" if receipt_path else ""
        self.notify(f"Refused; the refusal is signed and logged.{where}", title="Decision signed")
        self.load()

    def action_reopen(self) -> None:
        """Reopen an approval whose owner signature does not verify, to decide again."""
        if self.info is None or self.info.status not in RELEASABLE:
            return
        from tui.screens.ask import AskScreen

        def asked(reason: str | None) -> None:
            if reason is None:
                return
            job = self.rf.key_job(lambda: self.vault.requests.reopen(self.request_id, reason))
            self.rf.with_key(lambda: self.call_vault(job, self._reopened, name="reopen"))

        self.app.push_screen(
            AskScreen(
                "Decide again",
                "Only an approval that does not carry your valid signature (changed in the "
                "catalog, or made before decisions were signed) can be reopened; it releases "
                "nothing until you decide again. Why are you reopening it?",
                ok="Reopen",
            ),
            asked,
        )

    def _reopened(self, _result: object) -> None:
        self.notify("The request is pending again: look at its clips and decide.", title="Reopened")
        self.load()

    def action_export(self, force: bool = False) -> None:
        if self.info is None or not (force or self.info.status in RELEASABLE):
            return
        from tui.screens.export import ExportScreen

        out = unique_folder(self.rf.export_dir / self.request_id)
        self.app.push_screen(ExportScreen(self.info, out), lambda _r: self.load())
