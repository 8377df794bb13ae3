"""The read API's responses: the contract's records (``projections/records.py``) in
envelopes that carry the log position the view reflects (Litestar derives the OpenAPI
schema from them)."""

from __future__ import annotations

import msgspec

from projections.records import CallRecord, CauseRecord, EntryRecord, EventRecord, KpiBucket
from projections.records import KpiRecord as KpiTotal


class CallPage(msgspec.Struct, kw_only=True):
    """A page of calls; pass ``next_cursor`` as ``cursor`` for the next page (``null``:
    this is the last)."""

    items: list[CallRecord]
    next_cursor: str | None
    position: int


class CallResponse(msgspec.Struct, kw_only=True):
    """One call, and the log position the view reflects."""

    call: CallRecord
    position: int


class TimelineResponse(msgspec.Struct, kw_only=True):
    """A call and every callback recorded for it, in log order."""

    call: CallRecord
    entries: list[EntryRecord]
    position: int


class HangupCauses(msgspec.Struct, kw_only=True):
    """Ended calls by hangup cause over a time range."""

    rows: list[CauseRecord]
    total: int
    position: int


class KpiReport(msgspec.Struct, kw_only=True):
    """KPIs per bucket (hour or day, UTC) and over the whole range."""

    bucket: str
    buckets: list[KpiBucket]
    total: KpiTotal
    position: int


class EventPage(msgspec.Struct, kw_only=True):
    """A page of the raw event log; pass ``next_after`` as ``after`` to continue."""

    items: list[EventRecord]
    next_after: int
    position: int
