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

import logging
from collections.abc import Sequence
from uuid import UUID

from eventsourcing.application import Application

from projections.building import NEXT, BuildableView
from projections.rebuild_pass import Progress, UnappliableError, build
from projections.rebuild_workers import build_in_processes
from projections.runner import ViewRunner

log = logging.getLogger("calltrail.projections")
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
        build_in_processes(app, views, end, workers, batch_size, cache_size, progress)
        position = end
    position = build(app, building, position, None, batch_size, cache_size, progress)
    for view in building:
        view.finish(app.name, position)
    return position


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
