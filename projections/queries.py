"""Reads of the views in the read contract's terms (``records.py``): the call list with its
filters and keyset paging, one call, its timeline, and the metrics' counter rows.

The call list is in the order calltrail first saw the calls (``first_seen_at``, ties by
``first_position``), oldest or newest first. Each filter is served by an index that holds
that order after the filtered column (``timeline_sql.py``), and a page starts after the
last row of the previous one (a keyset cursor), so every page is a range read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent

from domain.call import Call
from domain.ids import call_id
from domain.numbers import e164
from projections.log import call_events
from projections.records import CallRecord, DialRecord, EntryRecord, LegRecord
from projections.sql import SqlView
from projections.timeline import entry_of
from projections.times import from_micros, to_micros

Order = Literal["asc", "desc"]
_legs = msgspec.json.Decoder(list[LegRecord])
_dials = msgspec.json.Decoder(list[DialRecord])
CURSOR_PATTERN = r"^-?[0-9]{1,19}\.[0-9]{1,19}$"
_CURSOR = re.compile(r"(-?[0-9]{1,19})\.([0-9]{1,19})")


class CursorError(ValueError):
    """A page cursor that this service did not hand out."""


@dataclass(frozen=True, slots=True)
class CallFilter:
    """Filters of the call list; ``None`` means any. Numbers are compared in E.164."""

    status: str | None = None
    direction: str | None = None
    hangup_cause_code: int | None = None
    from_number: str | None = None
    to_number: str | None = None
    since: datetime | None = None  # first seen at or after
    until: datetime | None = None  # first seen before


@dataclass(frozen=True, slots=True)
class Page:
    """One page of calls, and the cursor of the next one (``None`` at the end)."""

    calls: list[CallRecord]
    next_cursor: str | None


def cursor_of(call: CallRecord) -> str:
    """The cursor of the page after ``call``: its place in the list order."""
    return f"{to_micros(call.first_seen_at)}.{call.first_position}"


def parse_cursor(cursor: str) -> tuple[int, int]:
    """``(first_seen_at, first_position)`` of a cursor; ``CursorError`` if it is not one."""
    match = _CURSOR.fullmatch(cursor)
    if match is None or not all(-(2**63) <= int(part) < 2**63 for part in match.groups()):
        raise CursorError(f"not a cursor this service handed out: {cursor[:40]!r}")
    return int(match[1]), int(match[2])


def _where(
    where: CallFilter, after: tuple[int, int] | None = None, order: Order = "asc"
) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("status", where.status),
        ("direction", where.direction),
        ("hangup_cause_code", where.hangup_cause_code),
        ("from_number", e164(where.from_number) if where.from_number is not None else None),
        ("to_number", e164(where.to_number) if where.to_number is not None else None),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    since = None if where.since is None else to_micros(where.since)
    until = None if where.until is None else to_micros(where.until)
    if after is not None:
        # One bound on the side the page moves to: given two (``since`` and the cursor),
        # SQLite seeks to one and filters by the other, so the last page of a long range
        # would read every row before it. The nearer bound implies the other.
        if order == "asc":
            if since is not None and after[0] >= since:
                since = None
            if since is None:
                clauses.append("(first_seen_at, first_position) > (?, ?)")
                params += after
        else:
            if until is not None and after[0] < until:
                until = None
            if until is None:
                clauses.append("(first_seen_at, first_position) < (?, ?)")
                params += after
    if since is not None:
        clauses.append("first_seen_at >= ?")
        params.append(since)
    if until is not None:
        clauses.append("first_seen_at < ?")
        params.append(until)
    return clauses, params


def calls_query(
    where: CallFilter, *, cursor: str | None = None, limit: int = 100, order: Order = "asc"
) -> tuple[str, list[Any]]:
    """The statement (with ``{p}`` names) and parameters of a page of the call list."""
    after = None if cursor is None else parse_cursor(cursor)
    clauses, params = _where(where, after, order)
    direction = "ASC" if order == "asc" else "DESC"
    query = (
        f"SELECT * FROM {{p}}calls WHERE {' AND '.join(clauses) or 'TRUE'}"
        f" ORDER BY first_seen_at {direction}, first_position {direction} LIMIT ?"
    )
    return query, [*params, limit]


def list_calls(
    view: SqlView,
    where: CallFilter,
    *,
    cursor: str | None = None,
    limit: int = 100,
    order: Order = "asc",
    masked: bool = False,
) -> Page:
    """A page of the calls matching ``where``, after ``cursor``, in list order."""
    query, params = calls_query(where, cursor=cursor, limit=limit, order=order)
    calls = [call_record(row, masked) for row in view.rows(query, params)]
    return Page(calls, cursor_of(calls[-1]) if len(calls) == limit else None)


def count_calls(view: SqlView, where: CallFilter) -> int:
    """How many calls match ``where`` (an export's total)."""
    clauses, params = _where(where)
    query = f"SELECT COUNT(*) AS n FROM {{p}}calls WHERE {' AND '.join(clauses) or 'TRUE'}"
    return int(view.rows(query, params)[0]["n"])


def find_call(view: SqlView, call_uuid: str, masked: bool = False) -> CallRecord | None:
    """One call's summary, or ``None``."""
    # By the primary key: the id is the uuid5 of the CallUUID.
    rows = view.rows(
        "SELECT * FROM {p}calls WHERE call_id = ? AND call_uuid = ?",
        [str(call_id(call_uuid)), call_uuid],
    )
    return call_record(rows[0], masked) if rows else None


def mask(number: str | None, on: bool) -> str | None:
    """All but the last four characters of a number hidden, when masking is on."""
    if not on or number is None or len(number) <= 4:
        return number
    return "•" * (len(number) - 4) + number[-4:]


def _time(micros: int | None) -> datetime | None:
    return None if micros is None else from_micros(micros)


def call_record(row: Mapping[str, Any], masked: bool = False) -> CallRecord:
    """A ``calls`` row in the contract's terms."""
    legs = _legs.decode(row["legs"])
    if masked:
        for leg in legs:
            leg.to_number = mask(leg.to_number, True)
    return CallRecord(
        call_uuid=row["call_uuid"],
        first_position=row["first_position"],
        last_position=row["last_position"],
        first_seen_at=from_micros(row["first_seen_at"]),
        direction=row["direction"],
        from_number=mask(row["from_number"], masked),
        to_number=mask(row["to_number"], masked),
        status=row["status"],
        answered=bool(row["answered"]),
        hangup_cause=row["hangup_cause"],
        hangup_cause_code=row["hangup_cause_code"],
        hangup_cause_name=row["hangup_cause_name"],
        hangup_category=row["hangup_category"],
        hangup_source=row["hangup_source"],
        duration=row["duration"],
        bill_duration=row["bill_duration"],
        started_at=_time(row["started_at"]),
        answered_at=_time(row["answered_at"]),
        ended_at=_time(row["ended_at"]),
        legs=legs,
        dials=_dials.decode(row["dials"]),
        late=row["late"],
        conflicts=row["conflicts"],
        events=row["events"],
    )


_MASKED_PARAMS = ("From", "To", "DialBLegTo", "from_number", "to_number")


def timeline_entries(
    app: Application[UUID], call: CallRecord, masked: bool = False
) -> list[EntryRecord]:
    """The entries of a call in log order: its callback events in the log, up to the last
    position its summary reflects, so entries and summary always agree."""
    key = call_id(call.call_uuid)
    entries = []
    for position, _, version, topic, state in call_events(app, key, call.last_position):
        event = app.mapper.to_domain_event(StoredEvent(key, version, topic, state))
        if isinstance(event, Call.CallbackEvent):
            entry = entry_of(event, position)
            if masked:
                for name in _MASKED_PARAMS:
                    if name in entry.params:
                        entry.params[name] = mask(entry.params[name], True) or ""
            entries.append(entry)
    return entries
