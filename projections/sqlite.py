"""The views on SQLite: each projection in a file of its own beside the event store.

A rebuild builds the view's tables under ``_next`` names in the same file and renames
them in one transaction (``swap``); database files are never replaced under open
connections. SQLite cannot rename an index, so the indexes of a built table keep the
names they were made with: a rebuild names its indexes with whichever of two name sets
the live tables do not use, and indexes are only made together with their table.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from eventsourcing.sqlite import SQLiteTrackingRecorder

from projections.building import NEXT, OLD, BuildableView
from projections.metrics_sql import MetricsSql
from projections.sql import Cursor
from projections.timeline_sql import TimelineSql

_BULK_PRAGMAS = (
    # WAL with synchronous=NORMAL syncs at checkpoints, not at each commit, and is never
    # corrupted by a power loss; only tables nobody reads before the swap are written so.
    "PRAGMA synchronous=NORMAL",
    "PRAGMA cache_size=-32768",
    "PRAGMA temp_store=MEMORY",
    # Checkpoints every 10,000 pages (40 MB), not 1,000: each one syncs and copies what was
    # written since, 40% of a rebuild's SQL time at 1,000 (measured); with none at all the
    # whole copy fell on the swap, after the parallel part (2.8 s for 1,000,000 events).
    "PRAGMA wal_autocheckpoint=10000",
)


_BUSY_TIMEOUT_MS = 30_000


class _SQLiteView(SQLiteTrackingRecorder, BuildableView):
    """An eventsourcing SQLite tracking recorder that also holds a view's tables."""

    bigint_key = "INTEGER PRIMARY KEY"  # the rowid itself: no second b-tree for positions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._bulk: sqlite3.Connection | None = None

    def table_exists(self, cursor: Cursor, name: str) -> bool:
        """Whether the table ``name`` exists in the view's file."""
        cursor.execute("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", (name,))
        return cursor.fetchone() is not None

    @contextlib.contextmanager
    def schema_transaction(self) -> Iterator[Cursor]:
        """``BEGIN IMMEDIATE``: the version check and the change it leads to are one step,
        whichever process opens the view first."""
        connection = self._connect()
        try:
            cursor = connection.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                connection.rollback()
                raise
            connection.commit()
        finally:
            connection.close()

    @contextlib.contextmanager
    def transaction(self, *, commit: bool) -> Iterator[Cursor]:
        """A cursor in one transaction of the view's file."""
        with self.datastore.transaction(commit=commit) as cursor:
            yield cursor

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.datastore.pool.db_name,
            isolation_level=None,
            timeout=_BUSY_TIMEOUT_MS / 1000,
            check_same_thread=False,
        )
        connection.row_factory = sqlite3.Row
        return connection

    def _bulk_connection(self) -> sqlite3.Connection:
        if self._bulk is None:
            self._bulk = self._connect()
            for pragma in _BULK_PRAGMAS:
                self._bulk.execute(pragma)
        return self._bulk

    @contextlib.contextmanager
    def bulk_transaction(self) -> Iterator[Cursor]:
        """A transaction on a connection of its own that does not sync each commit."""
        connection = self._bulk_connection()
        cursor = connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield cursor
        except BaseException:
            connection.rollback()
            raise
        connection.commit()

    def write_staged(self, staged: Sequence[Any], *, wait: bool) -> bool:
        """As ``SqlView.write_staged``. Rebuild workers share the file's one write lock: one
        that finds it taken folds its next batch instead of sleeping in the busy handler."""
        connection = self._bulk_connection()
        if wait:
            connection.execute("BEGIN IMMEDIATE")
        else:
            connection.execute("PRAGMA busy_timeout = 0")
            try:
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode == sqlite3.SQLITE_BUSY:
                    return False
                raise
            finally:
                connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        cursor = connection.cursor()
        try:
            for values in staged:
                self._write_stage(cursor, values)
        except BaseException:
            connection.rollback()
            raise
        connection.commit()
        return True

    def tracking_table(self) -> str:
        """eventsourcing's SQLite tracking table name is fixed (hence a file per view)."""
        return f"tracking{self.suffix}"

    def tracking_statement(self) -> str:
        """The single-row tracking table, as eventsourcing's SQLite recorder makes it."""
        return (
            f"CREATE TABLE IF NOT EXISTS {self.tracking_table()} (application_name TEXT,"
            " notification_id INTEGER, PRIMARY KEY (application_name)) WITHOUT ROWID"
        )

    def choose_index_names(self, cursor: Cursor) -> None:
        """Name the new indexes with the set of names the live tables' indexes do not use."""
        self.index_suffix = ""
        self.__dict__.pop("_sql_cache", None)
        cursor.execute("SELECT name FROM sqlite_schema")
        taken = {row[0] for row in cursor.fetchall()}
        wanted = [s.split(" IF NOT EXISTS ")[1].split()[0] for s in self.index_statements()]
        if taken.intersection(wanted):
            self.index_suffix = NEXT
            self.__dict__.pop("_sql_cache", None)

    def swap(self) -> None:
        """Rename live → ``_old`` and ``_next`` → live in one synced transaction, then drop
        the old tables (a separate transaction: the swap itself stays short; freed pages
        are not overwritten page by page)."""
        live = [table.removesuffix(self.suffix) for table in self.own_tables()]
        connection = self._connect()
        try:
            connection.execute("PRAGMA synchronous=FULL")  # the swap must survive a power loss
            connection.execute("BEGIN IMMEDIATE")
            for table in live:
                connection.execute(f"ALTER TABLE {table} RENAME TO {table}{OLD}")
                connection.execute(f"ALTER TABLE {table}{self.suffix} RENAME TO {table}")
            connection.commit()
            # This SQLite zeroes freed pages (built with SECURE_DELETE): dropping a full view
            # would rewrite all of it. FAST still clears what it can without extra writes.
            connection.execute("PRAGMA secure_delete=FAST")
            connection.execute("BEGIN IMMEDIATE")
            for table in live:
                connection.execute(f"DROP TABLE {table}{OLD}")
            for table in self.retired_tables():
                connection.execute(f"DROP TABLE IF EXISTS {table}")
            connection.commit()
            # The build's pages are still in the WAL: copy them into the file, and give back
            # the WAL's space unless readers hold it (they end soon; the next one will).
            connection.execute("PRAGMA busy_timeout = 1000")
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()

    def close(self) -> None:
        """Close the rebuild's connection, and the view's own unless it is a sibling."""
        if self._bulk is not None:
            self._bulk.close()
            self._bulk = None
        if not self.is_sibling:
            self.datastore.close()


class SQLiteTimelineView(_SQLiteView, TimelineSql):
    """The timeline view in its own SQLite file."""


class SQLiteMetricsView(_SQLiteView, MetricsSql):
    """The hangup-metrics view in its own SQLite file."""
