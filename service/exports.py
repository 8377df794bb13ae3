"""Exports for analytics (events or calls, JSONL or CSV) and the import of an events export.

Both speak the read contract (``projections/records.py``): a calls export holds the same
records as ``/v1/calls``, an events export the same as ``/v1/events``. An events export
holds every stored event verbatim, so ``calltrail import`` into an empty store followed by
a rebuild gives views identical to the original's.
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import IO, Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import StoredEvent

from projections.log import (
    Row,
    call_key,
    decode_state,
    event_record,
    occurred,
    read_log,
)
from projections.queries import CallFilter, list_calls
from projections.records import CallRecord, EventRecord
from projections.sql import SqlView
from store.application import CallLog
from store.compression import json_of

PAGE = 5000
_encode = msgspec.json.Encoder().encode


class _Stamped(msgspec.Struct):
    """What an export reads of a stored state: its time, parsed by msgspec. msgspec still
    checks the rest is JSON (and skips it without building it: most of the cost of reading
    a state)."""

    timestamp: datetime | dict[str, Any] | None = None


_stamped = msgspec.json.Decoder(_Stamped).decode


class _Line(msgspec.Struct, gc=False):  # holds no containers: no cycles
    """An events export line as written: an ``EventRecord`` whose state is its JSON as
    stored (the same JSON; whitespace aside, the same bytes), so it is not built and
    encoded again."""

    position: int
    aggregate_id: str
    version: int
    topic: str
    occurred_at: datetime | None
    state: msgspec.Raw


_encoder = msgspec.json.Encoder()


# Events are stored in the order they arrive, and their time is their arrival at a
# server: the two orders disagree only by the clock skew between hosts and the moments a
# batch waits for its commit. A time window is read from the first position whose event
# is this much before its start to the first this much after its end.
ARRIVAL_SKEW = timedelta(minutes=10)


def events(
    app: CallLog, since: datetime | None = None, until: datetime | None = None
) -> Iterator[EventRecord]:
    """Every stored event in log order, optionally only those that occurred in
    [since, until); a window is read from where it starts in the log, not from its start.
    The export's lines, read back."""
    for _, page, _ in event_pages(app, since, until):
        yield from map(_record, page.splitlines())


_record = msgspec.json.Decoder(EventRecord).decode


def event_pages(
    app: CallLog, since: datetime | None = None, until: datetime | None = None
) -> Iterator[tuple[int, bytes, int]]:
    """The events export, as pages of JSON lines (each ending with a newline): the log
    position read up to, the page and how many lines it holds; every stored event in log
    order, or those that occurred in [since, until), read from where the window starts
    in the log. Each line is the ``EventRecord`` of a stored event; a state that reads as
    JSON on one line is written as stored (the same JSON; whitespace aside, the same
    bytes), and msgspec writes the lines a page at a time."""
    after, stop = 0, None
    with contextlib.suppress(OverflowError):  # a bound near year 1 or 9999: no margin left
        after = 0 if since is None else first_position_at(app, since - ARRIVAL_SKEW) - 1
    with contextlib.suppress(OverflowError):
        stop = None if until is None else until + ARRIVAL_SKEW
    head = int(app.recorder.max_notification_id() or 0)  # not what is appended meanwhile
    ids: dict[Any, str] = {}  # a call's events are near each other in the log
    for page in read_log(app, after, PAGE, until=head):
        lines = [_line(row, ids) for row in page]
        ended = False
        if since is not None or until is not None:
            lines, ended = _within(lines, since, until, stop)
        yield page[-1][0], _encoder.encode_lines(lines), len(lines)
        if ended:
            return


def _line(row: Row, ids: dict[Any, str]) -> _Line | EventRecord:
    """One stored event's line: its state as stored when msgspec reads it as a JSON object
    on one line (valid UTF-8, no lone surrogate), else the record built from the state
    read leniently."""
    position, originator_id, version, topic, stored = row
    state = json_of(stored)
    try:
        if not state.isascii():
            state.decode()  # msgspec skips the fields it is not asked for unchecked
        stamp = _stamped(state).timestamp
    except (msgspec.MsgspecError, UnicodeDecodeError):
        return event_record(position, originator_id, version, topic, state)
    if stamp.__class__ is not datetime or stamp.tzinfo is None or b"\n" in state or b"\r" in state:
        return event_record(position, originator_id, version, topic, state)
    key = ids.get(originator_id)
    if key is None:
        if len(ids) > 100_000:
            ids.clear()
        key = ids[originator_id] = call_key(originator_id)
    return _Line(position, key, version, topic, stamp, msgspec.Raw(state))


def _within(
    lines: list[_Line | EventRecord],
    since: datetime | None,
    until: datetime | None,
    stop: datetime | None,
) -> tuple[list[_Line | EventRecord], bool]:
    """The lines of events that occurred in [since, until), and whether the window has
    ended: an event at ``stop`` or after is past every event of the window."""
    kept: list[_Line | EventRecord] = []
    for line in lines:
        moment = line.occurred_at
        if moment is None:
            continue
        if stop is not None and moment >= stop:
            return kept, True
        if (since is None or moment >= since) and (until is None or moment < until):
            kept.append(line)
    return kept, False


def _time_at(app: CallLog, position: int) -> tuple[int, datetime | None] | None:
    """The position and time of the first event at or after ``position``; ``None`` past
    the end."""
    page = next(read_log(app, position - 1, 1), None)  # dropped at once: its connection closes
    if page is None:
        return None
    row = page[0]
    return row[0], occurred(decode_state(json_of(row[4])))


def first_position_at(app: CallLog, moment: datetime) -> int:
    """The first log position whose event occurred at or after ``moment`` (one past the
    end if none), by bisection of the log: events are stored about in time order."""
    low, high = 1, int(app.recorder.max_notification_id() or 0) + 1
    while low < high:
        middle = (low + high) // 2
        found = _time_at(app, middle)
        if found is None:
            high = middle
            continue
        position, stamp = found
        if stamp is not None and stamp >= moment:
            high = middle
        else:
            low = position + 1
    return low


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
    """Write one JSON document per line, a page of lines per write; return how many."""
    count = 0
    lines: list[bytes] = []
    for item in items:
        lines.append(_encode(item))
        if len(lines) == PAGE:
            count += _flush(lines, out, tick)
    return count + _flush(lines, out, tick)


def _flush(lines: list[bytes], out: IO[bytes], tick: Callable[[int], object]) -> int:
    if lines:
        lines.append(b"")
        out.write(b"\n".join(lines))
    count = max(len(lines) - 1, 0)
    tick(count)
    lines.clear()
    return count


def write_pages(
    pages: Iterator[tuple[int, bytes, int]], out: IO[bytes], reached: Callable[[int], object]
) -> int:
    """Write ``event_pages``, telling ``reached`` the position read up to after each;
    return how many lines."""
    count = 0
    for position, page, size in pages:
        out.write(page)
        count += size
        reached(position)
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
        state = _encode(item.state)
        if app.mapper.compressor is not None:  # as the mapper stores states
            state = app.mapper.compressor.compress(state)
        batch.append(StoredEvent(UUID(item.aggregate_id), item.version, item.topic, state))
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
