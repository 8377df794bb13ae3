"""One pass of a rebuild: replay a stretch of the log into views being built.

``build`` folds the log page by page with ``Replay`` and writes each view's rows in large
commits (``_StagedWrites``); ``rebuild.py`` runs it over the whole log, in this process or
in several (``rebuild_workers.py``).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from projections.building import BuildableView
from projections.log import Part, read_log
from projections.metrics_sql import MetricsSql
from projections.quarantine import describe, transient
from projections.replay import Replay
from projections.sql import Batch

MAX_PENDING = 3  # pages a due write may wait while another writer has the store
READ_PAGE = 20_000  # events read from the log at a time
Progress = Callable[[int], object]


class UnappliableError(Exception):
    """Events the fast path of a rebuild could not fold or write."""


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
