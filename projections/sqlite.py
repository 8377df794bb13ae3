"""The views on SQLite: each projection in a file of its own beside the event store."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteTrackingRecorder

from projections.views import Cursor, MetricsSql, SqlView, TimelineSql


class _SQLiteView(SQLiteTrackingRecorder, SqlView):
    """An eventsourcing SQLite tracking recorder that also holds a view's tables."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

    def construct_create_table_statements(self) -> list[str]:
        """The tracking table, then the view's own tables."""
        return [*super().construct_create_table_statements(), *self.table_statements()]

    @contextlib.contextmanager
    def transaction(self, *, commit: bool) -> Iterator[Cursor]:
        """A cursor in one transaction of the view's file."""
        with self.datastore.transaction(commit=commit) as cursor:
            yield cursor

    def tracking_table(self) -> str:
        """eventsourcing's SQLite tracking table name is fixed (hence a file per view)."""
        return "tracking"

    def track(self, cursor: Cursor, tracking: Tracking) -> None:
        """Advance the tracking row in the open transaction."""
        self._insert_tracking(cursor, tracking)  # type: ignore[arg-type]


class SQLiteTimelineView(_SQLiteView, TimelineSql):
    """The timeline view in its own SQLite file."""


class SQLiteMetricsView(_SQLiteView, MetricsSql):
    """The hangup-metrics view in its own SQLite file."""
