"""The views on PostgreSQL: per-projection tables (``timeline_calls``, ``metrics_counters``…)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from psycopg.sql import SQL

from projections.views import Cursor, MetricsSql, SqlView, TimelineSql


class _PostgresView(PostgresTrackingRecorder, SqlView):
    """An eventsourcing PostgreSQL tracking recorder that also holds a view's tables."""

    placeholder = "%s"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Tables are named after the tracking table ("timeline_tracking" → "timeline_…"),
        # and live in the store's schema.
        name = self.tracking_table_name.removesuffix("tracking")
        self.prefix = f"{self.datastore.schema}.{name}"
        self.index_prefix = name
        self.sql_create_statements.extend(SQL(s) for s in self.table_statements())  # type: ignore[misc]

    @contextlib.contextmanager
    def transaction(self, *, commit: bool) -> Iterator[Cursor]:
        """A cursor in one transaction of the database."""
        with self.datastore.transaction(commit=commit) as cursor:
            yield cursor

    def tracking_table(self) -> str:
        """The schema-qualified tracking table."""
        return f"{self.datastore.schema}.{self.tracking_table_name}"

    def track(self, cursor: Cursor, tracking: Tracking) -> None:
        """Advance the tracking row in the open transaction."""
        self._insert_tracking(cursor, tracking)  # type: ignore[arg-type]


class PostgresTimelineView(_PostgresView, TimelineSql):
    """The timeline view's tables in the event store's database."""


class PostgresMetricsView(_PostgresView, MetricsSql):
    """The hangup-metrics view's tables in the event store's database."""
