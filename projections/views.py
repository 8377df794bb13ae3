"""The views' SQL, shared by SQLite and PostgreSQL: rows and tracking in one transaction.

Each view is an eventsourcing tracking recorder (``sqlite.py``, ``postgres.py``) extended
with its own tables, so a batch of rows and the position it reflects commit together: a
crash never loses an event nor counts one twice. The statements are written once with
``?`` placeholders; PostgreSQL's views translate them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec
from eventsourcing.persistence import Tracking

from domain.call import Call
from projections.hangup_metrics import KEY_COLUMNS, VALUE_COLUMNS, Contribution, contributions
from projections.timeline import CALL_COLUMNS, ENTRY_COLUMNS, call_row, entry_row


@dataclass
class Batch:
    """Events of one read from the log, folded: entries in order, each call's latest state."""

    with_entries: bool = True
    entries: list[tuple[Any, ...]] = field(default_factory=list)
    calls: dict[str, tuple[Call, int, int]] = field(default_factory=dict)  # id → call, first, last

    def add(self, event: Any, call: Call, position: int, key: str) -> None:
        """Take one event at ``position`` and the call (id ``key``) as it stands after it."""
        if self.with_entries and isinstance(event, Call.CallbackEvent):
            self.entries.append(entry_row(event, position, key))
        known = self.calls.get(key)
        self.calls[key] = (call, known[1] if known else position, position)


class Cursor(Protocol):
    """The part of a DB-API cursor the views use."""

    def execute(self, query: Any, params: Any = ...) -> Any: ...
    def executemany(self, query: Any, params_seq: Any) -> Any: ...
    def fetchall(self) -> Any: ...


class SqlView:
    """Statements and batch writes common to both stores. Subclasses provide the plumbing."""

    prefix: str = ""  # table name prefix (PostgreSQL: schema, projection name and "_")
    index_prefix: str = ""  # index names cannot carry a schema
    placeholder: str = "?"

    def sql(self, statement: str) -> str:
        """``statement`` with ``{p}``/``{i}`` as table/index prefixes, and our placeholders."""
        text = statement.replace("{p}", self.prefix).replace("{i}", self.index_prefix)
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    @contextlib.contextmanager
    def transaction(self, *, commit: bool) -> Iterator[Cursor]:
        """A cursor in one transaction of this view's store."""
        raise NotImplementedError
        yield  # pragma: no cover

    def track(self, cursor: Cursor, tracking: Tracking) -> None:
        """Record ``tracking`` in the same transaction (refused if not ahead of the last)."""
        raise NotImplementedError

    tables: tuple[str, ...] = ()
    needs_entries = False  # whether batches must carry a timeline entry per event

    def table_statements(self) -> list[str]:
        """CREATE statements of this view's own tables."""
        raise NotImplementedError

    def tracking_table(self) -> str:
        """The (prefixed) name of the tracking table."""
        raise NotImplementedError

    def reset(self) -> None:
        """Drop the view's rows and tracking, leaving it empty at position 0 (for a rebuild)."""
        with self.transaction(commit=True) as cursor:
            for table in self.tables:
                cursor.execute(self.sql(f"DELETE FROM {{p}}{table}"))
            cursor.execute(f"DELETE FROM {self.tracking_table()}")

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of the view's tables, sorted: what tests compare."""
        dumped = {}
        for table in self.tables:
            rows = self.rows(f"SELECT * FROM {{p}}{table}")
            dumped[table] = sorted(tuple(row[key] for key in row.keys()) for row in rows)  # noqa: SIM118
        return dumped

    def write(self, batch: Batch, tracking: Tracking) -> None:
        """Write a batch's rows and its tracking position in one transaction."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the view's connections."""
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
_ENTRIES_DDL = (
    "position BIGINT PRIMARY KEY, call_id TEXT NOT NULL, version INTEGER, received_at TEXT,"
    " kind TEXT, event TEXT, reported_status TEXT, verdict TEXT, status_after TEXT, params TEXT"
)


class TimelineSql(SqlView):
    """The timeline view: ``calls`` (one row per call) and ``entries`` (one per callback)."""

    tables = ("calls", "entries")
    needs_entries = True

    def table_statements(self) -> list[str]:
        """The timeline's tables and indexes."""
        return [
            self.sql(f"CREATE TABLE IF NOT EXISTS {{p}}calls ({_CALLS_DDL})"),
            self.sql("CREATE UNIQUE INDEX IF NOT EXISTS {i}calls_uuid ON {p}calls (call_uuid)"),
            self.sql("CREATE INDEX IF NOT EXISTS {i}calls_first ON {p}calls (first_position)"),
            self.sql("CREATE INDEX IF NOT EXISTS {i}calls_seen ON {p}calls (first_seen)"),
            self.sql(f"CREATE TABLE IF NOT EXISTS {{p}}entries ({_ENTRIES_DDL})"),
            self.sql(
                "CREATE INDEX IF NOT EXISTS {i}entries_call ON {p}entries (call_id, position)"
            ),
        ]

    def write(self, batch: Batch, tracking: Tracking) -> None:
        """Insert the entries, upsert each touched call's row, advance tracking."""
        fixed = {"call_id", "call_uuid", "first_position", "first_seen"}
        upsert = _upsert(
            "calls", CALL_COLUMNS, ["call_id"], [c for c in CALL_COLUMNS if c not in fixed]
        )
        names = ", ".join(ENTRY_COLUMNS)
        insert = (
            f"INSERT INTO {{p}}entries ({names}) VALUES ({', '.join('?' for _ in ENTRY_COLUMNS)})"
        )
        with self.transaction(commit=True) as cursor:
            if batch.entries:
                cursor.executemany(self.sql(insert), batch.entries)
            rows = [
                call_row(call, key, first, last) for key, (call, first, last) in batch.calls.items()
            ]
            if rows:
                cursor.executemany(self.sql(upsert), rows)
            self.track(cursor, tracking)


_contributions_decoder = msgspec.json.Decoder(list[Contribution])
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

    def write(self, batch: Batch, tracking: Tracking) -> None:
        """Replace each touched call's old contribution by its new one; advance tracking."""
        columns = (*KEY_COLUMNS, "cause_name", *VALUE_COLUMNS)
        sets = ", ".join(f"{c} = {{p}}counters.{c} + excluded.{c}" for c in VALUE_COLUMNS)
        marks = ", ".join("?" for _ in columns)
        add = (
            f"INSERT INTO {{p}}counters ({', '.join(columns)}) VALUES ({marks})"
            f" ON CONFLICT ({', '.join(KEY_COLUMNS)})"
            f" DO UPDATE SET cause_name = excluded.cause_name, {sets}"
        )
        keep = _upsert("contributions", ("call_id", "body"), ["call_id"], ["body"])
        new = {
            key: contributions(call, self.account_tz) for key, (call, _, _) in batch.calls.items()
        }
        with self.transaction(commit=True) as cursor:
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
            if deltas:
                cursor.executemany(self.sql(add), deltas)
                cursor.executemany(self.sql(keep), kept)
                # A row emptied by a moved contribution goes, as a replay would never write it.
                emptied = sorted(
                    {row[: len(KEY_COLUMNS)] for row in deltas if row[-len(VALUE_COLUMNS)] < 0}
                )
                if emptied:
                    where = " AND ".join(f"{c} = ?" for c in KEY_COLUMNS)
                    cursor.executemany(
                        self.sql(f"DELETE FROM {{p}}counters WHERE {where} AND calls = 0"), emptied
                    )
            self.track(cursor, tracking)

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
                found[row["call_id"]] = tuple(_contributions_decoder.decode(row["body"]))
        return found
