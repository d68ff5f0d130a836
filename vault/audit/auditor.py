"""The vault's full check of its own log, from copies of its rows.

:meth:`vault.audit.log.AuditLog.verify` feeds :class:`LogAuditor` with the
results of :func:`check_entry_rows` over spans of the catalog's entries (in
this process, or in worker processes: vault.audit.workers) and with its
cached nodes and stored checkpoints. Everything here is pure, so the same
checks run on any copy of the tables. What a requester checks offline is in
vault.audit.verify.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from hashlib import sha256

from vault.audit import merkle
from vault.audit.note import VerifierKey, open_checkpoint
from vault.canonical import parse_canonical
from vault.config import CHECKPOINT_COPY_NAME
from vault.errors import IntegrityError

#: The file, beside the catalog, that keeps a copy of the latest signed checkpoint.
COPY_NAME = CHECKPOINT_COPY_NAME
#: The members of every audit entry.

ENTRY_KEYS = frozenset({"index", "time", "type", "actor", "subject", "details"})
ENTRY_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


class LogProblem(Exception):
    """The first thing found wrong with a log: an entry index (or None) and why."""

    def __init__(self, index: int | None, reason: str, checkpoint: int | None = None) -> None:
        super().__init__(index, reason, checkpoint)
        self.index = index
        self.reason = reason
        self.checkpoint = checkpoint


@dataclass(frozen=True)
class EntryRun:
    """Entries [start, start + count) checked one by one, and their leaf hashes."""

    start: int
    leaf_hashes: bytes  # 32 bytes per entry that passed, in order
    first_time: str
    last_time: str
    problem: tuple[int, str] | None  # the first bad entry in the run, if any

    @property
    def count(self) -> int:
        return len(self.leaf_hashes) // merkle.HASH_SIZE


def check_entry_rows(
    rows: Iterable[tuple[int, str, str, bytes, bytes]], start: int, end: int
) -> EntryRun:
    """Check rows ``(idx, at, type, entry, leaf_hash)`` meant to be entries [start, end).

    Each entry must be canonical JSON of the entry schema, carry its own index,
    agree with its row's time and type, have times that never decrease, and
    hash to its cached leaf hash. Stops at the first bad entry.
    """
    digest = sha256
    parse = parse_canonical
    time_ok = ENTRY_TIME.fullmatch
    keys = ENTRY_KEYS
    out = bytearray()
    expected = start
    first_time = last_time = ""

    def done(problem: tuple[int, str] | None) -> EntryRun:
        return EntryRun(start, bytes(out), first_time, last_time, problem)

    for idx, at, typ, data, cached in rows:
        if idx != expected:
            return done((expected, f"entry {expected} is missing (the next one is {idx})"))
        try:
            obj = parse(data)
        except IntegrityError as exc:
            return done((idx, f"entry {idx}: {exc.message}"))
        if type(obj) is not dict or obj.keys() != keys:
            return done((idx, f"entry {idx}: not an audit entry (wrong members)"))
        claimed = obj["index"]
        if claimed != idx:
            first = claimed if type(claimed) is int and 0 <= claimed < idx else idx
            return done(
                (
                    first,
                    f"the entry at position {idx} says it is entry {claimed}: "
                    "entries were inserted, removed or reordered",
                )
            )
        when = obj["time"]
        if type(when) is not str or not time_ok(when) or when != at:
            return done((idx, f"entry {idx}: its time is malformed or differs from its row"))
        if when < last_time:
            return done(
                (idx, f"entry {idx}: its time {when} is before the previous entry's {last_time}")
            )
        kind = obj["type"]
        if type(kind) is not str or not kind or kind != typ:
            return done((idx, f"entry {idx}: its type is malformed or differs from its row"))
        subject = obj["subject"]
        if (
            type(obj["actor"]) is not str
            or type(obj["details"]) is not dict
            or not (subject is None or type(subject) is str)
        ):
            return done((idx, f"entry {idx}: its actor, subject or details are malformed"))
        h = digest(b"\x00" + data).digest()
        if h != cached:
            return done((idx, f"entry {idx}: the cached leaf hash differs from the entry"))
        out += h
        if not first_time:
            first_time = when
        last_time = when
        expected = idx + 1
    if expected != end:
        return done((expected, f"entry {expected} is missing"))
    return done(None)


@dataclass
class _Mark:
    """A stored checkpoint, placed in the stream of entries at its size."""

    id: int | None  # None: the copy of the latest checkpoint kept beside the catalog
    size: int
    root: bytes
    problem: LogProblem | None = None
    name: str | None = None  # a checkpoint kept elsewhere, as the messages call it

    @property
    def label(self) -> str:
        if self.name is not None:
            return self.name
        if self.id is None:
            return f"the checkpoint copy {COPY_NAME} (size {self.size})"
        return f"checkpoint #{self.id} (size {self.size})"


class LogAuditor:
    """Rebuilds a log's Merkle tree from its leaf hashes, in index order, and
    checks the cached subtree nodes and every stored checkpoint against it.

    *checkpoints* are ``(id, size, root, note)`` rows in the order they were
    stored; *node_rows(level)* yields the cached ``(pos, hash)`` of one level
    in position order. Every method raises :class:`LogProblem` at the first
    thing wrong.
    """

    def __init__(
        self,
        origin: str,
        keys: Sequence[VerifierKey],
        checkpoints: Iterable[tuple[int | None, int, bytes, str]],
        node_rows: Callable[[int], Iterator[tuple[int, bytes]]],
        *,
        named: Iterable[tuple[str, str]] = (),
    ) -> None:
        """*named*: ``(label, note)`` of checkpoints kept outside the catalog, which
        the log must be consistent with too (the owner's head, a receipt's)."""
        self.origin = origin
        self.size = 0
        self.checked = 0
        self._vouched = 0  # entries covered by the last checkpoint that verified
        self._frontier: list[bytes] = []
        self._node_rows = node_rows
        self._levels: list[Iterator[tuple[int, bytes]]] = [iter(())]
        self._last_time = ""
        self._marks = self._place(checkpoints, list(keys), list(named))
        self._next = 0

    def _place(
        self,
        checkpoints: Iterable[tuple[int | None, int, bytes, str]],
        keys: list[VerifierKey],
        named: list[tuple[str, str]],
    ) -> list[_Mark]:
        marks: list[_Mark] = []
        for name, note in named:
            try:
                body, _ = open_checkpoint(note, keys)
            except IntegrityError as exc:
                marks.append(_Mark(None, 0, b"", LogProblem(None, f"{name}: {exc.message}"), name))
                continue
            problem = (
                None
                if body.origin == self.origin
                else LogProblem(None, f"{name} is for another log ({body.origin!r})")
            )
            marks.append(_Mark(None, body.size, body.root, problem, name))
        largest, largest_id = 0, 0
        for cid, size, root, note in checkpoints:
            mark = _Mark(cid, size, root)
            marks.append(mark)
            what = mark.label
            try:
                body, _ = open_checkpoint(note, keys)
            except IntegrityError as exc:
                mark.problem = LogProblem(None, f"{what}: {exc.message}", cid)
                continue
            if body.origin != self.origin:
                mark.problem = LogProblem(None, f"{what} is for another log ({body.origin!r})", cid)
            elif body.size != size or body.root != root:
                mark.problem = LogProblem(
                    None, f"{what}: the stored size or root differs from the signed note", cid
                )
            elif cid is not None and size < largest:
                mark.problem = LogProblem(
                    size,
                    f"{what} is smaller than the earlier checkpoint "
                    f"#{largest_id} (size {largest}): the log was cut and "
                    "re-signed",
                    cid,
                )
            if cid is not None and size >= largest:
                largest, largest_id = size, cid
        marks.sort(key=lambda m: (m.size, m.id is None, m.id or 0))
        return marks

    @staticmethod
    def _explained(run: EntryRun | None, start: int, end: int, problem: LogProblem) -> LogProblem:
        """A hash over entries [start, end) differs. If the run already found a
        bad entry in that range (a later row claiming an index there, say), that
        entry is the more precise answer."""
        if run is not None and run.problem is not None and start <= run.problem[0] < end:
            return LogProblem(*run.problem)
        return problem

    def _check_marks(self, run: EntryRun | None = None) -> None:
        marks = self._marks
        while self._next < len(marks) and marks[self._next].size == self.size:
            mark = marks[self._next]
            if mark.problem is not None:
                raise mark.problem
            if merkle.fold(self._frontier) != mark.root:
                raise self._explained(
                    run,
                    self._vouched,
                    mark.size,
                    LogProblem(
                        self._vouched,
                        f"{mark.label} does not match the "
                        f"log: an entry in [{self._vouched}, {mark.size}) was changed after it was "
                        "signed",
                        mark.id,
                    ),
                )
            self._vouched = mark.size
            self.checked += 1
            self._next += 1

    def _level(self, level: int) -> Iterator[tuple[int, bytes]]:
        while len(self._levels) <= level:
            self._levels.append(self._node_rows(len(self._levels)))
        return self._levels[level]

    def feed(self, run: EntryRun) -> None:
        """Add a checked run of entries; then raise the run's own problem, if any."""
        if run.start != self.size:
            raise ValueError("entry runs must be fed in order")
        self._check_marks(run)  # checkpoints of the empty log
        if run.first_time and run.first_time < self._last_time:
            raise LogProblem(
                run.start,
                f"entry {run.start}: its time {run.first_time} is "
                f"before the previous entry's {self._last_time}",
            )
        if run.last_time:
            self._last_time = run.last_time
        hashes = run.leaf_hashes
        frontier = self._frontier
        levels = self._levels
        marks = self._marks
        node = merkle.node_hash
        next_mark = marks[self._next].size if self._next < len(marks) else -1
        idx = run.start
        for offset in range(0, len(hashes), merkle.HASH_SIZE):
            h = hashes[offset : offset + merkle.HASH_SIZE]
            level, pos = 0, idx
            while pos & 1:
                h = node(frontier.pop(), h)
                level += 1
                pos >>= 1
                rows = levels[level] if level < len(levels) else self._level(level)
                stored = next(rows, None)
                if stored is None or stored[0] != pos or stored[1] != h:
                    state = "missing" if stored is None or stored[0] > pos else "wrong"
                    raise self._explained(
                        run,
                        pos << level,
                        (pos + 1) << level,
                        LogProblem(
                            pos << level,
                            f"cached node (level {level}, pos {pos}) over entries "
                            f"[{pos << level}, {(pos + 1) << level}) is {state}",
                        ),
                    )
            frontier.append(h)
            idx += 1
            if idx == next_mark:
                self.size = idx
                self._check_marks(run)
                next_mark = marks[self._next].size if self._next < len(marks) else -1
        self.size = idx
        if run.problem is not None:
            raise LogProblem(*run.problem)

    def finish(self, stray_node: tuple[int, int] | None = None) -> None:
        """After the last entry: no checkpoint beyond the log, no cached node
        beyond it. *stray_node* is any cached node at a level that cannot exist."""
        self._check_marks()
        if self._next < len(self._marks):
            mark = self._marks[self._next]
            if mark.problem is not None:
                raise mark.problem
            raise LogProblem(
                self.size,
                f"{mark.label} covers {mark.size} entries but "
                f"the log has {self.size}: entries from {self.size} on were "
                "removed (the log was cut back)",
                mark.id,
            )
        for level in range(1, max(self.size.bit_length(), 1) + 1):
            extra = next(self._level(level), None)
            if extra is not None:
                first = min(extra[0] << level, self.size)
                raise LogProblem(
                    first,
                    f"cached node (level {level}, pos {extra[0]}) lies beyond the end of the log",
                )
        if stray_node is not None:
            raise LogProblem(
                self.size,
                f"cached node (level {stray_node[0]}, pos {stray_node[1]}) should not exist",
            )
