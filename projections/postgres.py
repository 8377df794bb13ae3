"""The views on PostgreSQL: per-projection tables (``timeline_calls``, ``metrics_counters``…).

A rebuild builds ``timeline_calls_next``… in the same schema; ``swap`` drops the live
tables and renames the new ones and their indexes in one transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from eventsourcing.postgres import PostgresTrackingRecorder

from projections.building import BuildableView
from projections.metrics_sql import MetricsSql
from projections.sql import Cursor
from projections.timeline_sql import TimelineSql


class _PostgresView(PostgresTrackingRecorder, BuildableView):
    """An eventsourcing PostgreSQL tracking recorder that also holds a view's tables."""

    placeholder = "%s"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Tables are named after the tracking table ("timeline_tracking" → "timeline_…"),
        # and live in the store's schema.
        name = self.tracking_table_name.removesuffix("tracking")
        self.prefix = f"{self.datastore.schema}.{name}"
        self.index_prefix = name

    def table_exists(self, cursor: Cursor, name: str) -> bool:
        """Whether the table ``name`` (schema-qualified) exists."""
        cursor.execute("SELECT to_regclass(%s) AS found", (name,))
        row = cursor.fetchone()
        return row is not None and row["found"] is not None

    @contextlib.contextmanager
    def transaction(self, *, commit: bool) -> Iterator[Cursor]:
        """A cursor in one transaction of the database."""
        with self.datastore.transaction(commit=commit) as cursor:
            yield cursor

    @contextlib.contextmanager
    def bulk_transaction(self) -> Iterator[Cursor]:
        """A transaction that does not wait for its commit to reach the disk: it only
        writes tables nobody reads before the swap, which a crash leaves to be rebuilt."""
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
            yield cursor

    def close(self) -> None:
        """Close the view's connections (a sibling shares the live view's)."""
        if not self.is_sibling:
            self.datastore.close()

    def tracking_table(self) -> str:
        """The schema-qualified tracking table."""
        return f"{self.datastore.schema}.{self.tracking_table_name}{self.suffix}"

    def tracking_statement(self) -> str:
        """The single-row tracking table, as eventsourcing's PostgreSQL recorder makes it."""
        return (
            f"CREATE TABLE IF NOT EXISTS {self.tracking_table()} (application_name text,"
            " notification_id bigint, PRIMARY KEY (application_name))"
        )

    def swap(self) -> None:
        """Drop the live tables, rename the new ones and their indexes, in one transaction."""
        schema = self.datastore.schema
        built = [table.split(".", 1)[1] for table in self.own_tables()]
        live = [table.removesuffix(self.suffix) for table in built]
        with self.datastore.transaction(commit=True) as cursor:
            # The tracking table first, as a runner's write takes it first: no deadlock.
            cursor.execute(f"LOCK TABLE {schema}.{live[-1]} IN ACCESS EXCLUSIVE MODE")
            for table in live:
                cursor.execute(f"DROP TABLE IF EXISTS {schema}.{table}")
            for table in self.retired_tables():
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
            for old, new in zip(built, live, strict=True):
                cursor.execute(f"ALTER TABLE {schema}.{old} RENAME TO {new}")
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = ANY(%s)",
                (schema, live),
            )
            for row in cursor.fetchall():
                name = row["indexname"]
                if self.suffix in name:
                    renamed = name.replace(self.suffix, "")
                    cursor.execute(f"ALTER INDEX {schema}.{name} RENAME TO {renamed}")


class PostgresTimelineView(_PostgresView, TimelineSql):
    """The timeline view's tables in the event store's database."""


class PostgresMetricsView(_PostgresView, MetricsSql):
    """The hangup-metrics view's tables in the event store's database."""
