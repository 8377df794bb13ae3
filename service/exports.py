"""Exports for analytics (events or calls, JSONL or CSV) and the import of an events export.

Both speak the read contract (``projections/records.py``): a calls export holds the same
records as ``/v1/calls``, an events export the same as ``/v1/events``. An events export
holds every stored event verbatim, so ``calltrail import`` into an empty store followed by
a rebuild gives views identical to the original's.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import IO, Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import StoredEvent

from projections.log import event_record
from projections.queries import CallFilter, list_calls
from projections.records import CallRecord, EventRecord
from projections.sql import SqlView
from store.application import CallLog

PAGE = 5000
_encode = msgspec.json.Encoder().encode


def events(
    app: CallLog, since: datetime | None = None, until: datetime | None = None
) -> Iterator[EventRecord]:
    """Every stored event in log order, optionally only those that occurred in
    [since, until)."""
    start = 1
    while page := app.recorder.select_notifications(start=start, limit=PAGE):
        for n in page:
            record = event_record(n.id, n.originator_id, n.originator_version, n.topic, n.state)
            stamp = record.occurred_at
            if (since and stamp < since) or (until and stamp >= until):
                continue
            yield record
        start = page[-1].id + 1


def calls(timeline: SqlView, where: CallFilter, masked: bool = False) -> Iterator[CallRecord]:
    """Every call matching ``where``, in the call list's order."""
    cursor: str | None = None
    while True:
        page = list_calls(timeline, where, cursor=cursor, limit=PAGE, masked=masked)
        yield from page.calls
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def write_jsonl(items: Iterator[Any], out: IO[bytes], tick: Callable[[int], object]) -> int:
    """Write one JSON document per line; return how many."""
    count = 0
    for item in items:
        out.write(_encode(item) + b"\n")
        count += 1
        tick(1)
    return count


def csv_row(call: CallRecord) -> dict[str, str]:
    """A call as CSV cells: the JSON value of each field, strings unquoted, ``null`` empty
    (so a cell reads back as the API's value: ``true``, ``4000``, an RFC 3339 time)."""
    cells = msgspec.to_builtins(call)
    return {
        name: "" if value is None else value if isinstance(value, str) else _encode(value).decode()
        for name, value in cells.items()
    }


def write_csv(rows: Iterator[CallRecord], out: IO[str], tick: Callable[[int], object]) -> int:
    """Write calls as CSV with a header line of the contract's field names; return how many."""
    writer = csv.DictWriter(out, fieldnames=list(CallRecord.__struct_fields__))
    writer.writeheader()
    count = 0
    for call in rows:
        writer.writerow(csv_row(call))
        count += 1
        tick(1)
    return count


class _ImportedEvent(msgspec.Struct):
    """A line of an events export, as written now or by earlier versions."""

    position: int
    aggregate_id: str
    version: int
    topic: str
    state: dict[str, Any]


def import_events(app: CallLog, lines: IO[bytes], tick: Callable[[int], object]) -> int:
    """Insert an events export into an empty store, in pages; return how many."""
    if app.recorder.max_notification_id():
        raise ValueError("import needs an empty event store")
    decoder = msgspec.json.Decoder(_ImportedEvent)
    batch: list[StoredEvent] = []
    count = 0
    for line in lines:
        if not line.strip():
            continue
        item = decoder.decode(line)
        batch.append(
            StoredEvent(UUID(item.aggregate_id), item.version, item.topic, _encode(item.state))
        )
        if len(batch) == PAGE:
            count += _insert(app, batch, tick)
    return count + _insert(app, batch, tick)


def _insert(app: CallLog, batch: list[StoredEvent], tick: Callable[[int], object]) -> int:
    if not batch:
        return 0
    app.recorder.insert_events(batch)
    tick(len(batch))
    size = len(batch)
    batch.clear()
    return size
