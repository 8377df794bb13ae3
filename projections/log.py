"""Raw reads of the event log beside eventsourcing's recorders: pages in log order for a
replay, and one call's events with their log positions for its timeline.

eventsourcing reads an aggregate's events without their positions, and pages of the log
as notification objects; a replay of millions of events wants plain rows, and a timeline
wants positions. Both read the recorder's own tables with its own table names.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.application import Application
from eventsourcing.sqlite import SQLiteApplicationRecorder

from projections.records import EventRecord

# One stored event: its log position, and the columns as the recorder gives them (the id
# a UUID, or SQLite's 32 hex digits). A plain tuple: a rebuild makes one per event.
Row = tuple[int, Any, int, str, bytes]  # position, originator_id, version, topic, state

Part = tuple[int, int]  # (this one, out of how many): a share of the calls
_HEX = "0123456789abcdef"


def call_key(originator_id: Any) -> str:
    """The call's id as the views store it: ``str(UUID)``, without building a UUID."""
    if isinstance(originator_id, str) and len(originator_id) == 32:
        h = originator_id.lower()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return str(originator_id)


def on_postgres(recorder: object) -> bool:
    """Whether ``recorder`` is eventsourcing's PostgreSQL recorder, without importing it
    (and psycopg) on SQLite: a recorder of that class exists only once its module does."""
    module = sys.modules.get("eventsourcing.postgres")
    return module is not None and isinstance(recorder, module.PostgresApplicationRecorder)


def watch_commits(
    recorder: SQLiteApplicationRecorder, wake: threading.Event, stop: threading.Event, every: float
) -> None:
    """Set ``wake`` whenever another connection (any process) commits to the SQLite event
    store, looking every ``every`` seconds, until ``stop``: ``PRAGMA data_version`` moves
    with each commit by another connection, and reading it takes no lock."""
    connection = sqlite3.connect(recorder.datastore.pool.db_name, check_same_thread=False)
    try:
        seen = None
        while not stop.wait(every):
            version = connection.execute("PRAGMA data_version").fetchone()[0]
            if version != seen:
                seen = version
                wake.set()
    finally:
        connection.close()


def id_range(part: Part) -> tuple[str, str]:
    """The ids of a share of the calls, as a half-open range of hex text.

    Aggregate ids are uuid5 digests, uniform in their leading digits, so ``parts`` equal
    ranges of the first two hex digits hold about equal shares; a range lets the store
    skip the other shares' rows with a plain comparison.
    """
    share, parts = part
    low, high = 256 * share // parts, 256 * (share + 1) // parts
    start = f"{_HEX[low // 16]}{_HEX[low % 16]}" if low else ""
    stop = f"{_HEX[high // 16]}{_HEX[high % 16]}" if high < 256 else "g"  # after every digit
    return start, stop


def _leading_hex(originator_id: Any) -> str:
    """The first two hex digits of a call's id, as the recorder gives it."""
    if isinstance(originator_id, UUID):
        return originator_id.hex[:2]
    return str(originator_id).lower()[:2]


def read_log(
    app: Application[UUID],
    after: int,
    page_size: int,
    until: int | None = None,
    part: Part | None = None,
) -> Iterator[list[Row]]:
    """Pages of the log after position ``after``, up to ``until`` or to its end (events
    appended meanwhile too); only the events of the calls in ``part``, if given."""
    recorder = app.recorder
    if isinstance(recorder, SQLiteApplicationRecorder):
        yield from _read_sqlite(recorder, after, page_size, until, part)
        return
    while page := recorder.select_notifications(start=after + 1, limit=page_size, stop=until):
        rows: list[Row] = [
            (n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in page
        ]
        if part is not None:
            start, stop = id_range(part)
            rows = [row for row in rows if start <= _leading_hex(row[1]) < stop]
        if rows:
            yield rows
        after = page[-1].id


def _read_sqlite(
    recorder: SQLiteApplicationRecorder,
    after: int,
    page_size: int,
    until: int | None,
    part: Part | None,
) -> Iterator[list[Row]]:
    # A connection of its own, and a statement per page: no read snapshot is held across
    # pages, so the event store's WAL can be checkpointed while the rebuild runs.
    connection = sqlite3.connect(recorder.datastore.pool.db_name, check_same_thread=False)
    table = recorder.events_table_name  # the recorder's own constant, not input
    query = (
        "SELECT rowid, originator_id, originator_version, topic, state"  # noqa: S608
        f" FROM {table} WHERE rowid > ? AND rowid <= ?"
        " AND originator_id >= ? AND originator_id < ? ORDER BY rowid LIMIT ?"
    )
    last = until if until is not None else 2**63 - 1
    start, stop = id_range(part or (0, 1))
    try:
        while page := connection.execute(query, (after, last, start, stop, page_size)).fetchall():
            yield page
            after = page[-1][0]
    finally:
        connection.close()


def call_events(app: Application[UUID], call_id: UUID, until: int) -> list[Row]:
    """One call's stored events up to log position ``until``, in version order."""
    recorder = app.recorder
    if isinstance(recorder, SQLiteApplicationRecorder):
        statement = (
            "SELECT rowid, originator_id, originator_version, topic, state"  # noqa: S608
            f" FROM {recorder.events_table_name}"
            " WHERE originator_id = ? AND rowid <= ? ORDER BY originator_version"
        )
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, (call_id.hex, until))
            return [tuple(row) for row in cursor.fetchall()]
    from eventsourcing.postgres import PostgresApplicationRecorder  # noqa: PLC0415
    from psycopg.sql import SQL, Identifier  # noqa: PLC0415

    assert isinstance(recorder, PostgresApplicationRecorder)
    query = SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state"
        " FROM {schema}.{table} WHERE originator_id = %s AND notification_id <= %s"
        " ORDER BY originator_version"
    ).format(
        schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name)
    )
    with recorder.datastore.transaction(commit=False) as pg_cursor:
        pg_cursor.execute(query, (call_id, until))
        return [
            (row["notification_id"], *(row[c] for c in _COLUMNS)) for row in pg_cursor.fetchall()
        ]


_COLUMNS = ("originator_id", "originator_version", "topic", "state")
_state = msgspec.json.Decoder(dict[str, Any])
UNREADABLE = "unreadable_state"  # the key an undecodable state is given under
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def event_record(
    position: int, aggregate_id: Any, version: int, topic: str, state: bytes
) -> EventRecord:
    """A stored event in the read contract's terms, its state as stored (its JSON: the
    caller decompresses a compressed one, ``store.compression.json_of``)."""
    decoded = decode_state(state)
    return EventRecord(
        position=position,
        aggregate_id=call_key(aggregate_id),
        version=version,
        topic=topic,
        occurred_at=occurred(decoded),
        state=decoded,
    )


def decode_state(state: bytes) -> dict[str, Any]:
    """A stored state as the JSON object it holds.

    One that msgspec refuses is read again leniently, so that a damaged or foreign row
    never fails a read of the log: JSON with a lone surrogate escape (``"\\ud800"``,
    which the standard library writes) has it replaced by U+FFFD, as no UTF-8 output can
    carry it; anything else that is not a JSON object is given as its text (bytes that
    are not UTF-8 escaped) under ``UNREADABLE``.
    """
    try:
        return _state.decode(state)
    except msgspec.MsgspecError:
        pass
    try:
        loaded = json.loads(state)
    except ValueError:  # not JSON, or not UTF-8 (UnicodeDecodeError is a ValueError)
        loaded = None
    if isinstance(loaded, dict):
        cleaned: dict[str, Any] = _without_surrogates(loaded)
        return cleaned
    return {UNREADABLE: bytes(state).decode("utf-8", "backslashreplace")}


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    return value


def occurred(state: dict[str, Any]) -> datetime | None:
    """An event's stored timestamp: RFC 3339 text, or the default transcoder's
    ``{"_type_": "datetime_iso", "_data_": …}``; ``None`` if it has none that reads."""
    return moment_of(state.get("timestamp"))


def moment_of(stamp: Any) -> datetime | None:
    """``occurred`` of a state's ``timestamp`` value."""
    if isinstance(stamp, dict):
        stamp = stamp.get("_data_")
    if not isinstance(stamp, str):
        return None
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
