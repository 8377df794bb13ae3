"""A rebuild's steps on a view: build it under other table names beside the live one, then
swap it in.

``rebuild.py`` drives them: ``sibling(NEXT)`` names the tables to build, ``prepare``
creates them empty, ``write_staged`` fills them (``sql.py``), ``finish`` records the
position they reflect, and ``swap`` puts them in place of the live ones in one transaction
(``sqlite.py`` and ``postgres.py`` each do it their way).
"""

from __future__ import annotations

import copy
from abc import abstractmethod
from collections.abc import Callable
from typing import Self

from eventsourcing.persistence import Tracking

from projections.sql import Cursor, SqlView

MIGRATION_ROW = "__migration__"  # eventsourcing's tracking tables hold this row; it checks it
NEXT = "_next"  # a rebuild builds the view under these names, beside the live one
OLD = "_old"


class BuildableView(SqlView):
    """A view that a rebuild can build afresh beside itself and swap in."""

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
        return [self.sql(f"{{p}}{table}") for table in self.tables] + [self.tracking_table()]

    def prepare(self) -> None:
        """Drop what an interrupted rebuild left, and create the empty tables to build."""
        with self.transaction(commit=True) as cursor:
            for table in self.own_tables():
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
                cursor.execute(f"DROP TABLE IF EXISTS {table.removesuffix(self.suffix)}{OLD}")
            self.choose_index_names(cursor)
            cursor.execute(self.tracking_statement())
            # Indexes from the start: their keys arrive nearly in order, so keeping them
            # costs the parallel build little, where building them after the load would
            # add to its serial end.
            for statement in [*self.table_statements(), *self.index_statements()]:
                cursor.execute(statement)
            cursor.execute(
                self.sql("INSERT INTO {t} (application_name, notification_id) VALUES (?, ?)"),
                (MIGRATION_ROW, 1),
            )

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
