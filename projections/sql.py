"""What every view shares on both stores: SQL templating, tracking, and the two write paths.

Each view is an eventsourcing tracking recorder (``sqlite.py``, ``postgres.py``) extended
with its own tables, so a batch of rows and the position it reflects commit together: a
crash never loses an event nor counts one twice. Statements are written once with ``?``
placeholders and ``{p}``/``{i}``/``{t}`` names; PostgreSQL's views translate them.

A view is written two ways. The live runner **applies** a batch: rows and the tracking
position in one transaction (``apply``). A rebuild **stages** each batch (takes its values
while the calls are as folded) and writes staged batches in bulk transactions
(``stage``, ``write_staged``); its steps are in ``building.py``.
"""

from __future__ import annotations

import contextlib
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Any, Protocol

from eventsourcing.persistence import IntegrityError, Tracking

from domain.call import Call


class StalePositionError(IntegrityError):
    """A view's tracking moved since the batch was read (a rebuild swapped it, or another
    runner wrote it): the batch is dropped and read again from the new position."""


@dataclass
class Batch:
    """Calls to write, folded from the log: each one's latest state, with the positions of
    the first and last of its events the batch was folded from."""

    calls: dict[str, tuple[Call, int, int]] = field(default_factory=dict)  # id → call, first, last
    # A rebuild's batches only: each call that the view already holds, as it holds it, so
    # its old contribution to the counters is known without reading it back.
    before: dict[str, Call] = field(default_factory=dict)

    def add(self, call: Call, position: int, key: str) -> None:
        """Take the call (id ``key``) as it stands after its event at ``position``."""
        known = self.calls.get(key)
        self.calls[key] = (call, known[1] if known else position, position)


class Cursor(Protocol):
    """The part of a DB-API cursor the views use."""

    def execute(self, query: Any, params: Any = ...) -> Any: ...
    def executemany(self, query: Any, params_seq: Any) -> Any: ...
    def fetchall(self) -> Any: ...
    def fetchone(self) -> Any: ...


# ``{p}name`` is a table, ``{i}name`` an index, ``{t}`` the tracking table.
_NAMES = re.compile(r"\{([pi])\}(\w+)|\{t\}")


class SqlView(ABC):
    """Statements, tracking and writes common to both stores; ``sqlite.py`` and
    ``postgres.py`` provide the connections, each feature (``timeline_sql.py``,
    ``metrics_sql.py``) its tables and rows."""

    prefix: str = ""  # table name prefix (PostgreSQL: schema, projection name and "_")
    index_prefix: str = ""  # index names cannot carry a schema
    placeholder: str = "?"
    suffix: str = ""  # ``building.NEXT`` while a rebuild builds this view's tables
    index_suffix: str = ""
    bigint_key: str = "BIGINT PRIMARY KEY"
    tables: tuple[str, ...] = ()
    account_tz: tzinfo = UTC  # Plivo's StartTime and friends are local to it; set when opened

    def sql(self, statement: str) -> str:
        """``statement`` with ``{p}``/``{i}``/``{t}`` names resolved, and our placeholders."""
        cache: dict[str, str] = self.__dict__.setdefault("_sql_cache", {})
        text = cache.get(statement)
        if text is None:
            text = _NAMES.sub(self._name, statement)
            if self.placeholder != "?":
                text = text.replace("?", self.placeholder)
            cache[statement] = text
        return text

    def _name(self, match: re.Match[str]) -> str:
        kind, name = match.group(1, 2)
        if kind == "p":
            return f"{self.prefix}{name}{self.suffix}"
        if kind == "i":
            return f"{self.index_prefix}{name}{self.index_suffix}"
        return self.tracking_table()

    # The store's plumbing (sqlite.py, postgres.py).

    @abstractmethod
    def transaction(self, *, commit: bool) -> contextlib.AbstractContextManager[Cursor]:
        """A cursor in one transaction of this view's store."""

    @abstractmethod
    def tracking_statement(self) -> str:
        """CREATE statement of the tracking table, as eventsourcing makes it (single row)."""

    @abstractmethod
    def tracking_table(self) -> str:
        """The (prefixed) name of the tracking table."""

    @abstractmethod
    def close(self) -> None:
        """Close the view's connections."""

    @abstractmethod
    def wait(
        self,
        application_name: str,
        notification_id: int | None,
        timeout: float = 1.0,
        interrupt: threading.Event | None = None,
    ) -> None:
        """Block until the view has applied ``notification_id`` (eventsourcing's tracking
        recorders provide it); ``TimeoutError`` after ``timeout`` seconds."""

    # The feature's tables and rows (timeline_sql.py, metrics_sql.py).

    @abstractmethod
    def table_statements(self) -> list[str]:
        """CREATE statements of this view's own tables."""

    def index_statements(self) -> list[str]:
        """CREATE statements of the secondary indexes."""
        return []

    @abstractmethod
    def _apply_rows(self, cursor: Cursor, batch: Batch) -> None:
        """Write a live batch's rows in the open transaction (the incremental path)."""

    @abstractmethod
    def stage(self, batch: Batch) -> Any:
        """A rebuild's batch as the values ``write_staged`` writes, taken now: the rebuild
        writes them later, while the calls go on changing."""

    @abstractmethod
    def _write_stage(self, cursor: Cursor, staged: Any) -> None:
        """Write what ``stage`` made, in the open transaction."""

    # Tracking.

    def position(self, application_name: str) -> int:
        """The last log position this view reflects (0 before the first event)."""
        with self.transaction(commit=False) as cursor:
            cursor.execute(
                self.sql("SELECT notification_id AS at FROM {t} WHERE application_name = ?"),
                (application_name,),
            )
            row = cursor.fetchone()
            return int(row["at"]) if row else 0

    def move_tracking(self, cursor: Cursor, tracking: Tracking, after: int) -> None:
        """Move tracking from ``after`` to ``tracking``'s position, or raise ``StalePositionError``.

        First in the write transaction, so it also takes the write lock: of two writers
        that read the same position, the second finds it moved and writes nothing.
        """
        if tracking.notification_id <= after:
            raise StalePositionError(f"tracking {tracking.notification_id} is not after {after}")
        if after:
            statement = (
                "UPDATE {t} SET notification_id = ? WHERE application_name = ?"
                " AND notification_id = ? RETURNING notification_id"
            )
            params: tuple[Any, ...] = (tracking.notification_id, tracking.application_name, after)
        else:
            statement = (
                "INSERT INTO {t} (application_name, notification_id) VALUES (?, ?)"
                " ON CONFLICT (application_name) DO NOTHING RETURNING notification_id"
            )
            params = (tracking.application_name, tracking.notification_id)
        cursor.execute(self.sql(statement), params)
        if cursor.fetchone() is None:
            raise StalePositionError(
                f"tracking of {tracking.application_name} is no longer at {after}"
            )

    # The two write paths.

    def apply(self, batch: Batch, tracking: Tracking, after: int) -> None:
        """The live path: a batch's rows and the move of tracking from ``after``, in one
        transaction."""
        with self.transaction(commit=True) as cursor:
            self.move_tracking(cursor, tracking, after)
            self._apply_rows(cursor, batch)

    def write_rows(self, cursor: Cursor, batch: Batch) -> None:
        """A live batch's rows alone, in the open transaction (the caller moves tracking)."""
        self._apply_rows(cursor, batch)

    @contextlib.contextmanager
    def bulk_transaction(self) -> Iterator[Cursor]:
        """A transaction on tables nobody reads yet (a rebuild's): the store may skip syncing."""
        with self.transaction(commit=True) as cursor:
            yield cursor

    def write_staged(self, staged: Sequence[Any], *, wait: bool) -> bool:
        """The rebuild path: staged batches, in order, in one bulk transaction. Unless
        ``wait``, only if no other writer holds the store (else write nothing, return False)."""
        with self.bulk_transaction() as cursor:
            for values in staged:
                self._write_stage(cursor, values)
        return True

    # Reads.

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[Mapping[str, Any]]:
        """Run a query on this view; rows as mappings."""
        with self.transaction(commit=False) as cursor:
            cursor.execute(self.sql(statement), tuple(params))
            return list(cursor.fetchall())

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of the view's tables, sorted: what tests compare."""
        dumped = {}
        for table in self.tables:
            rows = self.rows(f"SELECT * FROM {{p}}{table}")
            dumped[table] = sorted(tuple(row[key] for key in row.keys()) for row in rows)  # noqa: SIM118
        return dumped


def upsert(table: str, columns: Sequence[str], key: Sequence[str], update: Sequence[str]) -> str:
    """An INSERT of ``columns`` that updates ``update`` when ``key`` exists."""
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    sets = ", ".join(f"{c} = excluded.{c}" for c in update)
    conflict = ", ".join(key)
    return (
        f"INSERT INTO {{p}}{table} ({names}) VALUES ({marks})"
        f" ON CONFLICT ({conflict}) DO UPDATE SET {sets}"
    )
