"""``calltrail rebuild``: build views afresh beside the live ones, then swap them in.

Each view is built under ``_next`` table names in its own store (same SQLite file, same
PostgreSQL schema), from the whole log, then ``swap`` renames it into place in one
transaction. Readers see the old complete view until the swap commits, then the new
complete one. A runner still writing the old tables meanwhile finds, after the swap,
that its view's position moved (its next write is refused: ``StalePositionError``) and
carries on from the new tables' position, so no event is lost or counted twice. An
interrupted rebuild leaves the live view as it was; the next one starts over.

With ``workers`` > 1 the log up to its current end is split by call between processes
(each folds and writes its own calls; counters are sums, so they add up), then this
process replays what was appended meanwhile, and swaps.

A log holding an event that cannot be applied (``quarantine.py``) stops this fast path;
the views are then built again from the start as the live runner applies the log, which
holds such events in the new views' quarantine and applies the rest. So a rebuild
recomputes the quarantine: it lists what the code of now cannot apply, and the old
entries go with the old tables.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import queue
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.utils import get_topic, resolve_topic

from projections.building import NEXT, BuildableView
from projections.log import Part, read_log
from projections.metrics_sql import MetricsSql
from projections.quarantine import describe, transient
from projections.replay import Replay
from projections.runner import ViewRunner
from projections.sql import Batch

log = logging.getLogger("calltrail.projections")
Progress = Callable[[int], object]
MAX_PENDING = 3  # pages a due write may wait while another writer has the store
READ_PAGE = 20_000  # events read from the log at a time
CAREFUL_PAGE = 5_000  # events per page when the log holds events that cannot be applied


def rebuild_views(
    app: Application[UUID],
    views: Sequence[BuildableView],
    *,
    batch_size: int = 100_000,
    progress: Progress | None = None,
    cache_size: int = 10_000,
    workers: int = 1,
) -> int:
    """Rebuild ``views`` from ``app``'s whole log and swap them in; return the position
    the new views reflect."""
    building = [view.sibling(NEXT) for view in views]
    try:
        for view in building:
            view.prepare()
        try:
            position = _build_fast(app, views, building, batch_size, cache_size, workers, progress)
        except UnappliableError as error:
            log.error("%s: building the views again, holding what cannot be applied", error)
            position = _build_carefully(app, building, progress)
        for view in building:
            view.swap()
    finally:
        for view in building:
            view.close()
    return position


def _build_fast(
    app: Application[UUID],
    views: Sequence[BuildableView],
    building: Sequence[BuildableView],
    batch_size: int,
    cache_size: int,
    workers: int,
    progress: Progress | None,
) -> int:
    """Build ``building`` from the whole log in bulk (in ``workers`` processes if it is
    long enough), and record the position it reflects."""
    position = 0
    end = app.recorder.max_notification_id() or 0
    if workers > 1 and end >= workers * batch_size:
        _build_in_processes(app, views, end, workers, batch_size, cache_size, progress)
        position = end
    position = build(app, building, position, None, batch_size, cache_size, progress)
    for view in building:
        view.finish(app.name, position)
    return position


class UnappliableError(Exception):
    """Events the fast path of a rebuild could not fold or write."""


def _build_carefully(
    app: Application[UUID], building: Sequence[BuildableView], progress: Progress | None
) -> int:
    """Build the views again from the start as the live runner applies the log: each
    page at once, or event by event where one cannot be applied, which is then held in
    the new views' quarantine. Slower than ``build``, and only for a log that needs it."""
    for view in building:
        view.prepare()
    runner = ViewRunner(app, building, batch_size=CAREFUL_PAGE)
    runner.catch_up(progress)
    return min(runner.positions())


@contextlib.contextmanager
def _applying(first: int, last: int) -> Iterator[None]:
    """Failures of folding or writing the events ``first`` to ``last`` as the events'
    (``UnappliableError``), unless the store itself failed."""
    try:
        yield
    except Exception as error:
        if transient(error):
            raise
        raise UnappliableError(
            f"events {first} to {last} cannot all be applied ({describe(error)})"
        ) from error


def build(
    app: Application[UUID],
    building: Sequence[BuildableView],
    after: int,
    until: int | None,
    batch_size: int,
    cache_size: int,
    progress: Progress | None,
    part: Part | None = None,
) -> int:
    """Replay the log after ``after`` (up to ``until``, or its end) into ``building``; only
    the calls of ``part`` if given. Return the last position read.

    The writes stay on this thread: on a thread of their own, the GIL would pass back and
    forth at every row the drivers read or write.
    """
    replay = Replay(
        app,
        keep_before=any(isinstance(view, MetricsSql) for view in building),
        maxsize=cache_size,
    )
    writer = _StagedWrites(building, batch_size)
    position = after
    with _fewer_collections():
        for page in read_log(app, after, writer.page_size, until, part):
            with _applying(page[0][0], page[-1][0]):
                writer.stage(replay.batch(page))
                writer.page_done()
            position = page[-1][0]
            if progress is not None:
                progress(len(page))
        with _applying(after + 1, position):
            writer.stage(replay.rest())
            writer.flush(last=True)
    return position


class _StagedWrites:
    """Each view's staged batches, written every ``batch_size`` events.

    Rows are written in large commits: each commit rewrites every page its rows touched,
    and the calls' keys are random, so small commits would rewrite most of a table's index
    each time. A due write may wait up to ``MAX_PENDING`` pages while another rebuild
    worker holds the store (SQLite has one write lock per file).
    """

    def __init__(self, views: Sequence[BuildableView], batch_size: int) -> None:
        self.views = views
        self.page_size = min(batch_size, READ_PAGE)
        self.pages_per_write = max(1, batch_size // self.page_size)
        self.staged: list[list[Any]] = [[] for _ in views]
        self.held = 0  # pages folded since the last write

    def stage(self, batch: Batch) -> None:
        """Take the batch's values now: the calls change as the replay goes on."""
        if batch.calls:
            for view, staged in zip(self.views, self.staged, strict=True):
                staged.append(view.stage(batch))

    def page_done(self) -> None:
        """Count a folded page; write when a write is due."""
        self.held += 1
        if self.held >= self.pages_per_write and self.flush(last=False):
            self.held = 0

    def flush(self, *, last: bool) -> bool:
        """Write what each view has staged; return whether everything was written."""
        written = True
        wait = last or self.held >= self.pages_per_write + MAX_PENDING - 1
        for view, staged in zip(self.views, self.staged, strict=True):
            if staged and view.write_staged(staged, wait=wait):
                staged.clear()
            written = written and not staged
        return written


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """A replay makes millions of short-lived objects that reference counting frees; at
    the default thresholds the cycle collector would also walk the cached calls again and
    again (a tenth of a rebuild's time)."""
    thresholds = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def _build_in_processes(
    app: Application[UUID],
    views: Sequence[BuildableView],
    end: int,
    workers: int,
    batch_size: int,
    cache_size: int,
    progress: Progress | None,
) -> None:
    """Build the log up to ``end`` in ``workers`` processes, a share of the calls each."""
    context = multiprocessing.get_context("spawn")  # no copied connections or pool threads
    reports: Any = context.Queue()
    spec = (get_topic(type(app)), dict(app.env))
    opened = [_reopener(view) for view in views]
    processes = [
        context.Process(
            target=_worker,
            args=(spec, opened, end, (part, workers), batch_size, cache_size, reports),
            daemon=True,
        )
        for part in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        running = set(range(workers))
        while running:
            try:
                kind, part, value = reports.get(timeout=1.0)
            except queue.Empty:
                # A worker that died without a word (killed) would otherwise be waited on
                # forever.
                if any(not processes[p].is_alive() for p in running):
                    raise RuntimeError("a rebuild worker died") from None
                continue
            if kind == "read" and progress is not None:
                progress(value)
            elif kind == "done":
                running.discard(part)
            elif kind == "unappliable":
                raise UnappliableError(value)
            elif kind == "failed":
                raise RuntimeError(f"rebuild worker {part} failed:\n{value}")
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()


def _reopener(view: BuildableView) -> Callable[[], BuildableView]:
    if view.reopen is None:
        raise ValueError("rebuild workers need views opened by projections.views.open_view")
    return view.reopen


def _worker(
    spec: tuple[str, dict[str, str]],
    opened: list[Callable[[], BuildableView]],
    end: int,
    part: Part,
    batch_size: int,
    cache_size: int,
    reports: Any,
) -> None:
    """One rebuild process: open the log and the views anew, build its share, report."""
    try:
        topic, env = spec
        # The store exists (this process's parent opened it); workers creating its tables
        # at once collide on PostgreSQL ("tuple concurrently updated").
        app: Application[UUID] = resolve_topic(topic)(env=env | {"CREATE_TABLE": "n"})
        views = [open_again() for open_again in opened]
        building = [view.sibling(NEXT) for view in views]

        def report(count: int) -> None:
            reports.put(("read", part[0], count))

        try:
            build(app, building, 0, end, batch_size, cache_size, report, part)
        finally:
            for view in [*building, *views]:
                view.close()
            app.close()
        reports.put(("done", part[0], None))
    except UnappliableError as error:
        reports.put(("unappliable", part[0], str(error)))
    except BaseException:
        reports.put(("failed", part[0], traceback.format_exc()))
        raise
