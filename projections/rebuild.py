"""``calltrail rebuild``: build views afresh beside the live ones, then swap them in.

Each view is built under ``_next`` table names in its own store (same SQLite file, same
PostgreSQL schema), from the whole log, then ``swap`` renames it into place in one
transaction. Readers see the old complete view until the swap commits, then the new
complete one. A runner still writing the old tables meanwhile finds, after the swap,
that its view's position moved (its next write is refused: ``StalePositionError``) and
carries on from the new tables' position, so no event is lost or counted twice. An
interrupted rebuild leaves the live view as it was; the next one starts over.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID

from eventsourcing.application import Application

from projections.replay import Replay, read_log
from projections.views import NEXT, MetricsSql, SqlView

Progress = Callable[[int], object]


def rebuild_views(
    app: Application[UUID],
    views: Sequence[SqlView],
    *,
    batch_size: int = 20_000,
    progress: Progress | None = None,
    cache_size: int = 10_000,
) -> int:
    """Rebuild ``views`` from ``app``'s whole log and swap them in; return the position
    the new views reflect."""
    building = [view.sibling(NEXT) for view in views]
    try:
        for view in building:
            view.prepare()
        replay = Replay(
            app,
            with_entries=any(view.needs_entries for view in building),
            keep_before=any(isinstance(view, MetricsSql) for view in building),
            maxsize=cache_size,
        )
        position = 0
        for page in read_log(app, 0, batch_size):
            batch = replay.batch(page)
            for view in building:
                with view.bulk_transaction() as cursor:
                    view.write_bulk(cursor, batch)
            position = page[-1].position
            if progress is not None:
                progress(len(page))
        for view in building:
            view.finish(app.name, position)
        for view in building:
            view.swap()
    finally:
        for view in building:
            view.close()
    return position
