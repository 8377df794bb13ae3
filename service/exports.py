"""Exports for analytics (events or calls, JSONL or CSV) and the import of an events export.

An events JSONL export holds every stored event verbatim (position, aggregate id, version,
topic, state), so ``calltrail import`` into an empty store followed by a rebuild gives
views identical to the original's.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import IO, Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import StoredEvent

from projections.queries import CallFilter, timeline_calls
from store.application import CallLog

PAGE = 5000
_decode = msgspec.json.Decoder(dict[str, Any]).decode
_encode = msgspec.json.Encoder().encode


class ExportedEvent(msgspec.Struct):
    """One line of an events export."""

    position: int
    aggregate_id: str
    version: int
    topic: str
    timestamp: str
    state: dict[str, Any]


def events(
    app: CallLog, since: datetime | None = None, until: datetime | None = None
) -> Iterator[ExportedEvent]:
    """Every stored event in log order, optionally only those stamped in [since, until)."""
    start = 1
    while page := app.recorder.select_notifications(start=start, limit=PAGE):
        for notification in page:
            event: Any = app.mapper.to_domain_event(notification)
            stamp = event.timestamp
            if (since and stamp < since) or (until and stamp >= until):
                continue
            yield ExportedEvent(
                position=notification.id,
                aggregate_id=str(notification.originator_id),
                version=notification.originator_version,
                topic=notification.topic,
                timestamp=stamp.isoformat(timespec="microseconds"),
                state=_decode(notification.state),
            )
        start = page[-1].id + 1


def calls(timeline: Any, where: CallFilter) -> Iterator[dict[str, Any]]:
    """Every call row of the timeline view matching ``where``, in log order."""
    after = 0
    while rows := timeline_calls(timeline, where, after, PAGE):
        for row in rows:
            yield {key: row[key] for key in row.keys()}  # noqa: SIM118 - sqlite3.Row
        after = rows[-1]["first_position"]


def write_jsonl(items: Iterator[Any], out: IO[bytes], tick: Callable[[int], object]) -> int:
    """Write one JSON document per line; return how many."""
    count = 0
    for item in items:
        out.write(_encode(item) + b"\n")
        count += 1
        tick(1)
    return count


def write_csv(rows: Iterator[dict[str, Any]], out: IO[str], tick: Callable[[int], object]) -> int:
    """Write rows as CSV with a header line; return how many."""
    writer: csv.DictWriter[str] | None = None
    count = 0
    for row in rows:
        if writer is None:
            writer = csv.DictWriter(out, fieldnames=list(row))
            writer.writeheader()
        writer.writerow(row)
        count += 1
        tick(1)
    return count


def import_events(app: CallLog, lines: IO[bytes], tick: Callable[[int], object]) -> int:
    """Insert an events export into an empty store, in pages; return how many."""
    if app.recorder.max_notification_id():
        raise ValueError("import needs an empty event store")
    decoder = msgspec.json.Decoder(ExportedEvent)
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
