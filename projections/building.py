"""A rebuild's steps on a view: build it under other table names beside the live one, then
swap it in.

``rebuild.py`` drives them: ``sibling(NEXT)`` names the tables to build, ``prepare``
creates them empty, ``write_staged`` fills them (``sql.py``), ``finish`` records the
position they reflect, and ``swap`` puts them in place of the live ones in one transaction
(``sqlite.py`` and ``postgres.py`` each do it their way).
"""

from __future__ import annotations

import contextlib
import copy
import logging
from abc import abstractmethod
from collections.abc import Callable
from typing import Self

from eventsourcing.persistence import Tracking

from projections.sql import Cursor, SqlView

log = logging.getLogger("calltrail.projections")

MIGRATION_ROW = "__migration__"  # eventsourcing's tracking tables hold this row; it checks it
META = "meta"  # each view's own small table: the version of its tables, a counter
_META_COLUMNS = "(name TEXT PRIMARY KEY, value TEXT NOT NULL)"
QUARANTINE = "quarantine"  # each view's events it could not apply (``quarantine.py``)
NEXT = "_next"  # a rebuild builds the view under these names, beside the live one
OLD = "_old"


class BuildableView(SqlView):
    """A view that a rebuild can build afresh beside itself and swap in."""

    schema_version = 1  # of the view's tables; a view found at another version is rebuilt
    view_name = "view"  # as operators know it (logs, `calltrail quarantine list`)
    is_sibling = False  # shares its datastore with the live view: closing it leaves that open
    retired: tuple[str, ...] = ()  # tables the view no longer has, dropped at a swap
    # How to open this view again, in another process (a rebuild's workers).
    reopen: Callable[[], BuildableView] | None = None

    def sibling(self, suffix: str) -> Self:
        """This view under table names ending ``suffix``, on the same connections."""
        other = copy.copy(self)
        other.__dict__.pop("_sql_cache", None)
        other.suffix = other.index_suffix = suffix
        other.is_sibling = True
        return other

    def retired_tables(self) -> list[str]:
        """The full names of the retired tables, and of their rebuilds' copies."""
        live = [f"{self.prefix}{table}" for table in self.retired]
        return [f"{table}{suffix}" for table in live for suffix in ("", NEXT, OLD)]

    def own_tables(self) -> list[str]:
        """The names (with prefix and suffix) of every table of the view, tracking included."""
        tables = [*self.tables, META, QUARANTINE]
        return [self.sql(f"{{p}}{table}") for table in tables] + [self.tracking_table()]

    def prepare(self) -> None:
        """Drop what an interrupted rebuild left, and create the empty tables to build."""
        with self.transaction(commit=True) as cursor:
            for table in self.own_tables():
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
                cursor.execute(f"DROP TABLE IF EXISTS {table.removesuffix(self.suffix)}{OLD}")
            self.choose_index_names(cursor)
            cursor.execute(self.tracking_statement())
            self._create_tables(cursor)
            cursor.execute(
                self.sql("INSERT INTO {t} (application_name, notification_id) VALUES (?, ?)"),
                (MIGRATION_ROW, 1),
            )

    def _create_tables(self, cursor: Cursor) -> None:
        """The view's tables, its indexes, its quarantine, and its version."""
        # Indexes from the start: their keys arrive nearly in order, so keeping them costs
        # a rebuild little, where building them after the load would add to its serial end.
        for statement in [*self.table_statements(), *self.index_statements()]:
            cursor.execute(statement)
        cursor.execute(self.quarantine_statement())
        cursor.execute(self.sql(f"CREATE TABLE {{p}}{META} {_META_COLUMNS}"))
        cursor.execute(
            self.sql(f"INSERT INTO {{p}}{META} (name, value) VALUES ('schema_version', ?)"),
            (str(self.schema_version),),
        )

    def quarantine_statement(self) -> str:
        """The CREATE statement of the view's quarantine: the events it holds back."""
        return self.sql(
            f"CREATE TABLE IF NOT EXISTS {{p}}{QUARANTINE} (position {self.bigint_key},"
            " call_id TEXT NOT NULL, cause BIGINT NOT NULL, error TEXT NOT NULL,"
            " held_at BIGINT NOT NULL)"
        )

    def ensure_schema(self) -> bool:
        """Create the view's tables if missing; if they are of another version, drop them
        and reset the view's tracking, so the runner rebuilds it from the whole log.
        Return whether the tables were (re)created."""
        with self.schema_transaction() as cursor:
            found = self._stored_version(cursor)
            if found == self.schema_version:
                self._keep_version(cursor)
                return False
            if found is not None:
                log.warning(
                    "the %s view's tables are of version %s, not %s: rebuilding it from the"
                    " event log (`calltrail rebuild all` does it faster)",
                    self.tables[0],
                    found,
                    self.schema_version,
                )
            for table in [*self.own_tables()[:-1], *self.retired_tables()]:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(
                self.sql("DELETE FROM {t} WHERE application_name <> ?"), (MIGRATION_ROW,)
            )
            self.choose_index_names(cursor)
            self._create_tables(cursor)
        return True

    def _keep_version(self, cursor: Cursor) -> None:
        """Record the version, for tables made before versions were kept, and add the
        quarantine to tables made before it existed (it is new, not a change of theirs)."""
        cursor.execute(self.quarantine_statement())
        cursor.execute(self.sql(f"CREATE TABLE IF NOT EXISTS {{p}}{META} {_META_COLUMNS}"))
        cursor.execute(
            self.sql(
                f"INSERT INTO {{p}}{META} (name, value) VALUES ('schema_version', ?)"
                " ON CONFLICT (name) DO NOTHING"
            ),
            (str(self.schema_version),),
        )

    def _stored_version(self, cursor: Cursor) -> int | None:
        """The version of the tables found; ``None`` if there are none. Tables made before
        versions were kept are version 1."""
        if not self.table_exists(cursor, self.sql(f"{{p}}{META}")):
            return 1 if self.table_exists(cursor, self.sql(f"{{p}}{self.tables[0]}")) else None
        cursor.execute(self.sql(f"SELECT value FROM {{p}}{META} WHERE name = 'schema_version'"))
        row = cursor.fetchone()
        return int(row["value"]) if row else None

    @abstractmethod
    def table_exists(self, cursor: Cursor, name: str) -> bool:
        """Whether the table ``name`` (as ``sql`` names it) exists."""

    def schema_transaction(self) -> contextlib.AbstractContextManager[Cursor]:
        """A transaction that holds the store's write lock from its start."""
        return self.transaction(commit=True)

    def choose_index_names(self, cursor: Cursor) -> None:
        """Settle ``index_suffix`` before the indexes are named (SQLite: see sqlite.py)."""

    def finish(self, application_name: str, position: int) -> None:
        """Record the position the built tables reflect."""
        if position:
            with self.bulk_transaction() as cursor:
                self.move_tracking(cursor, Tracking(application_name, position), 0)

    @abstractmethod
    def swap(self) -> None:
        """In one durable transaction, replace the live tables by this sibling's."""
