"""The views' SQL, shared by SQLite and PostgreSQL: rows and tracking in one transaction.

Each view is an eventsourcing tracking recorder (``sqlite.py``, ``postgres.py``) extended
with its own tables, so a batch of rows and the position it reflects commit together: a
crash never loses an event nor counts one twice. The statements are written once with
``?`` placeholders; PostgreSQL's views translate them.
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec
from eventsourcing.persistence import IntegrityError, Tracking

from domain.call import Call
from projections.hangup_metrics import (
    KEY_COLUMNS,
    PDD_BOUNDS,
    VALUE_COLUMNS,
    Contribution,
    contributions,
)
from projections.timeline import CALL_COLUMNS, call_row


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
MIGRATION_ROW = "__migration__"  # eventsourcing's tracking tables hold this row; it checks it
NEXT = "_next"  # a rebuild builds the view under these names, beside the live one
OLD = "_old"


class SqlView:
    """Statements and batch writes common to both stores. Subclasses provide the plumbing.

    A view whose ``suffix`` is ``NEXT`` is the same view's tables being rebuilt in the same
    database (``rebuild.py``); ``swap`` puts them in place of the live ones.
    """

    prefix: str = ""  # table name prefix (PostgreSQL: schema, projection name and "_")
    index_prefix: str = ""  # index names cannot carry a schema
    placeholder: str = "?"
    suffix: str = ""  # NEXT while a rebuild builds this view's tables
    index_suffix: str = ""
    bigint_key: str = "BIGINT PRIMARY KEY"
    is_sibling = False  # shares its datastore with the live view: closing it leaves that open

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

    def sibling(self, suffix: str) -> Any:
        """This view under table names ending ``suffix``, on the same connections."""
        other = copy.copy(self)
        other.__dict__.pop("_sql_cache", None)
        other.suffix = other.index_suffix = suffix
        other.is_sibling = True
        return other

    @contextlib.contextmanager
    def transaction(self, *, commit: bool) -> Iterator[Cursor]:
        """A cursor in one transaction of this view's store."""
        raise NotImplementedError
        yield  # pragma: no cover

    @contextlib.contextmanager
    def bulk_transaction(self) -> Iterator[Cursor]:
        """A transaction on tables nobody reads yet (a rebuild's): the store may skip syncing."""
        with self.transaction(commit=True) as cursor:
            yield cursor

    tables: tuple[str, ...] = ()
    retired: tuple[str, ...] = ()  # tables earlier versions made, dropped at a swap

    def table_statements(self) -> list[str]:
        """CREATE statements of this view's own tables."""
        raise NotImplementedError

    def index_statements(self) -> list[str]:
        """CREATE statements of the secondary indexes."""
        return []

    def tracking_statement(self) -> str:
        """CREATE statement of the tracking table, as eventsourcing makes it (single row)."""
        raise NotImplementedError

    def tracking_table(self) -> str:
        """The (prefixed) name of the tracking table."""
        raise NotImplementedError

    def position(self, application_name: str) -> int:
        """The last log position this view reflects (0 before the first event)."""
        with self.transaction(commit=False) as cursor:
            return self._position(cursor, application_name)

    def _position(self, cursor: Cursor, application_name: str) -> int:
        cursor.execute(
            self.sql("SELECT notification_id AS at FROM {t} WHERE application_name = ?"),
            (application_name,),
        )
        row = cursor.fetchone()
        return int(row["at"]) if row else 0

    def advance(self, cursor: Cursor, tracking: Tracking, after: int) -> None:
        """Move tracking from ``after`` to ``tracking``'s position, or raise ``StalePositionError``.

        First in the write transaction, so it also takes the write lock: of two writers
        that read the same position, the second finds it moved and writes nothing.
        """
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
        if tracking.notification_id <= after:
            raise StalePositionError(f"tracking {tracking.notification_id} is not after {after}")
        cursor.execute(self.sql(statement), params)
        if cursor.fetchone() is None:
            raise StalePositionError(
                f"tracking of {tracking.application_name} is no longer at {after}"
            )

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of the view's tables, sorted: what tests compare."""
        dumped = {}
        for table in self.tables:
            rows = self.rows(f"SELECT * FROM {{p}}{table}")
            dumped[table] = sorted(tuple(row[key] for key in row.keys()) for row in rows)  # noqa: SIM118
        return dumped

    def write(self, batch: Batch, tracking: Tracking, after: int) -> None:
        """Write a batch's rows and move tracking from ``after`` to it, in one transaction."""
        with self.transaction(commit=True) as cursor:
            self.advance(cursor, tracking, after)
            self.write_rows(cursor, batch)

    def write_rows(self, cursor: Cursor, batch: Batch) -> None:
        """Write a batch's rows in the open transaction."""
        raise NotImplementedError

    def write_bulk(self, cursor: Cursor, batch: Batch) -> None:
        """Write a rebuild's batch (``before`` filled in); tracking is set once, at the end."""
        self.write_prepared(cursor, self.prepare_bulk(batch))

    def prepare_bulk(self, batch: Batch) -> Any:
        """A rebuild's batch as the values ``write_prepared`` writes, taken now: a rebuild
        writes them while it folds the next batch (which changes the calls)."""
        return batch

    def write_prepared(self, cursor: Cursor, prepared: Any) -> None:
        """Write what ``prepare_bulk`` made, in the open transaction."""
        self.write_rows(cursor, prepared)

    def write_pending(self, pending: Sequence[Any], *, wait: bool) -> bool:
        """Write prepared batches, in order, in one bulk transaction; unless ``wait``, only
        if no other writer holds the store (else write nothing and return False)."""
        with self.bulk_transaction() as cursor:
            for prepared in pending:
                self.write_prepared(cursor, prepared)
        return True

    # The rebuild's steps, on the ``NEXT`` sibling: prepare, write_bulk…, finish, swap.

    def retired_tables(self) -> list[str]:
        """The full names of tables earlier versions of the view made, and of their
        rebuilds' copies: a swap drops them."""
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
            # Indexes from the start: their keys (first position, first seen) arrive nearly
            # in order, so keeping them costs the parallel build little, while building
            # them after the load took a second of its serial end (measured).
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
                self.advance(cursor, Tracking(application_name, position), 0)

    def swap(self) -> None:
        """In one durable transaction, replace the live tables by this sibling's."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the view's connections."""
        if not self.is_sibling:
            self.datastore.close()  # type: ignore[attr-defined]

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[Mapping[str, Any]]:
        """Run a query on this view; rows as mappings."""
        with self.transaction(commit=False) as cursor:
            cursor.execute(self.sql(statement), tuple(params))
            return list(cursor.fetchall())


def _upsert(table: str, columns: Sequence[str], key: Sequence[str], update: Sequence[str]) -> str:
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    sets = ", ".join(f"{c} = excluded.{c}" for c in update)
    conflict = ", ".join(key)
    return (
        f"INSERT INTO {{p}}{table} ({names}) VALUES ({marks})"
        f" ON CONFLICT ({conflict}) DO UPDATE SET {sets}"
    )


_CALLS_DDL = (
    "call_id TEXT PRIMARY KEY, call_uuid TEXT NOT NULL, first_position BIGINT NOT NULL,"
    " last_position BIGINT NOT NULL, first_seen TEXT NOT NULL, direction TEXT,"
    " from_number TEXT, to_number TEXT, status TEXT, answered INTEGER, hangup_cause TEXT,"
    " hangup_cause_code TEXT, hangup_cause_name TEXT, hangup_source TEXT, duration INTEGER,"
    " bill_duration INTEGER, start_time TEXT, answer_time TEXT, end_time TEXT, legs TEXT,"
    " dials TEXT, late INTEGER, conflicts INTEGER, events INTEGER"
)


class TimelineSql(SqlView):
    """The timeline view: ``calls``, one row per call (its entries are its events in the
    log: ``timeline.py``)."""

    tables = ("calls",)
    retired = ("entries",)  # a copy of every callback, kept before entries came from the log

    def table_statements(self) -> list[str]:
        """The timeline's table."""
        return [self.sql(f"CREATE TABLE IF NOT EXISTS {{p}}calls ({_CALLS_DDL})")]

    def index_statements(self) -> list[str]:
        """The timeline's secondary indexes."""
        return [
            self.sql("CREATE INDEX IF NOT EXISTS {i}calls_first ON {p}calls (first_position)"),
            self.sql("CREATE INDEX IF NOT EXISTS {i}calls_seen ON {p}calls (first_seen)"),
        ]

    _UPSERT = _upsert(
        "calls",
        CALL_COLUMNS,
        ["call_id"],
        [
            c
            for c in CALL_COLUMNS
            if c not in {"call_id", "call_uuid", "first_position", "first_seen"}
        ],
    )

    def write_rows(self, cursor: Cursor, batch: Batch) -> None:
        """Upsert each touched call's row."""
        self.write_prepared(cursor, self.prepare_bulk(batch))

    def prepare_bulk(self, batch: Batch) -> list[tuple[Any, ...]]:
        """Each touched call's row as it stands now."""
        return [
            call_row(call, key, first, last) for key, (call, first, last) in batch.calls.items()
        ]

    def write_prepared(self, cursor: Cursor, prepared: list[tuple[Any, ...]]) -> None:
        """Upsert the calls' rows."""
        if prepared:
            cursor.executemany(self.sql(self._UPSERT), prepared)


_contributions_decoder = msgspec.json.Decoder(list[Contribution])
# Contributions kept before they were stored as arrays: JSON objects of the same fields.
_objects_decoder = msgspec.json.Decoder(list[dict[str, Any]])


def decode_contributions(body: str | bytes) -> tuple[Contribution, ...]:
    """A kept call's contributions, as arrays or as the objects earlier versions wrote."""
    try:
        return tuple(_contributions_decoder.decode(body))
    except msgspec.ValidationError:
        return tuple(Contribution(**old) for old in _objects_decoder.decode(body))


# Counter deltas, each kept call's contributions (JSON), and the counter rows that lost one.
_Deltas = tuple[list[tuple[Any, ...]], list[tuple[str, str]], list[tuple[str, ...]]]
_contributions_encoder = msgspec.json.Encoder()


class MetricsSql(SqlView):
    """The hangup-metrics view: ``counters`` and each ended call's ``contributions``."""

    account_tz: Any = None  # set by the factory: Plivo's StartTime is account-local
    tables = ("counters", "contributions")

    def table_statements(self) -> list[str]:
        """The metrics tables."""
        keys = ", ".join(f"{c} TEXT NOT NULL" for c in KEY_COLUMNS)
        values = ", ".join(f"{c} BIGINT NOT NULL DEFAULT 0" for c in VALUE_COLUMNS)
        return [
            self.sql(
                f"CREATE TABLE IF NOT EXISTS {{p}}counters ({keys}, cause_name TEXT, {values},"
                f" PRIMARY KEY ({', '.join(KEY_COLUMNS)}))"
            ),
            self.sql(
                "CREATE TABLE IF NOT EXISTS {p}contributions (call_id TEXT PRIMARY KEY, body TEXT)"
            ),
        ]

    _ADD_COLUMNS = (*KEY_COLUMNS, "cause_name", *VALUE_COLUMNS)
    _ADD = (
        f"INSERT INTO {{p}}counters ({', '.join(_ADD_COLUMNS)})"
        f" VALUES ({', '.join('?' for _ in _ADD_COLUMNS)})"
        f" ON CONFLICT ({', '.join(KEY_COLUMNS)}) DO UPDATE SET cause_name = excluded.cause_name, "
        + ", ".join(f"{c} = {{p}}counters.{c} + excluded.{c}" for c in VALUE_COLUMNS)
    )
    _KEEP = _upsert("contributions", ("call_id", "body"), ["call_id"], ["body"])

    def write_rows(self, cursor: Cursor, batch: Batch) -> None:
        """Replace each touched call's old contribution (read back) by its new one."""
        new = {
            key: contributions(call, self.account_tz) for key, (call, _, _) in batch.calls.items()
        }
        old = self._old_contributions(cursor, [key for key, value in new.items() if value])
        deltas: list[tuple[Any, ...]] = []
        kept: list[tuple[str, str]] = []
        for key, now in new.items():
            before = old.get(key, ())
            if now == before:
                continue
            deltas += [(*c.key(), c.cause_name, *c.values(-1)) for c in before]
            deltas += [(*c.key(), c.cause_name, *c.values(1)) for c in now]
            kept.append((key, _contributions_encoder.encode(list(now)).decode()))
        self._apply(cursor, deltas, kept)

    def prepare_bulk(self, batch: Batch) -> _Deltas:
        """As ``write_rows``, but old contributions come from ``batch.before`` (a rebuild
        folds every call itself), and the batch's deltas are summed per counter row first."""
        tz = self.account_tz
        summed: dict[tuple[str, ...], list[Any]] = {}
        kept: list[tuple[str, str]] = []
        emptied: set[tuple[str, ...]] = set()
        for key, (call, _, _) in batch.calls.items():
            now = contributions(call, tz)
            earlier = batch.before.get(key)
            before = contributions(earlier, tz) if earlier is not None else ()
            if now == before:
                continue
            for sign, items in ((-1, before), (1, now)):
                for c in items:
                    # What ``c.values(sign)`` adds, added in place: calls, answered, talk
                    # seconds, and the one PDD bucket.
                    row_key = c.key()
                    total = summed.get(row_key)
                    if total is None:
                        total = summed[row_key] = [c.cause_name, 0, 0, 0, [0] * len(PDD_BOUNDS)]
                    else:
                        # The last delta names the cause, as one upsert per delta would.
                        total[0] = c.cause_name
                    total[1] += sign
                    total[2] += sign * c.answered
                    total[3] += sign * c.talk_seconds
                    if c.pdd_index is not None:
                        total[4][c.pdd_index] += sign
                    if sign < 0:
                        emptied.add(row_key)
            kept.append((key, _contributions_encoder.encode(list(now)).decode()))
        # In key order: rebuild workers adding to the same rows never deadlock.
        deltas = []
        for row_key in sorted(summed):
            name, calls, answered, talk, pdd = summed[row_key]
            deltas.append((*row_key, name, calls, answered, talk, *pdd))
        return deltas, kept, sorted(emptied)

    def write_prepared(self, cursor: Cursor, prepared: _Deltas) -> None:
        """Add a rebuild's summed deltas, keep its contributions."""
        self._apply(cursor, *prepared)

    def _apply(
        self,
        cursor: Cursor,
        deltas: list[tuple[Any, ...]],
        kept: list[tuple[str, str]],
        emptied: list[tuple[str, ...]] | None = None,
    ) -> None:
        if not deltas:
            return
        cursor.executemany(self.sql(self._ADD), deltas)
        cursor.executemany(self.sql(self._KEEP), kept)
        if emptied is None:
            emptied = sorted(
                {row[: len(KEY_COLUMNS)] for row in deltas if row[-len(VALUE_COLUMNS)] < 0}
            )
        if emptied:
            # A row emptied by a moved contribution goes, as a replay would never write it.
            where = " AND ".join(f"{c} = ?" for c in KEY_COLUMNS)
            cursor.executemany(
                self.sql(f"DELETE FROM {{p}}counters WHERE {where} AND calls = 0"), emptied
            )

    def _old_contributions(
        self, cursor: Cursor, keys: list[str]
    ) -> dict[str, tuple[Contribution, ...]]:
        found: dict[str, tuple[Contribution, ...]] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            cursor.execute(
                self.sql(
                    f"SELECT call_id, body FROM {{p}}contributions WHERE call_id IN ({marks})"
                ),
                chunk,
            )
            for row in cursor.fetchall():
                found[row["call_id"]] = decode_contributions(row["body"])
        return found
