"""The read API's response types (msgspec Structs: Litestar derives the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

import msgspec


class LegOut(msgspec.Struct):
    """A B leg of a Dial, as the Dial callbacks and action reported it."""

    uuid: str
    status: str
    answered: bool
    to: str
    hangup_cause: str
    hangup_cause_code: str
    hangup_cause_name: str
    hangup_source: str
    duration: int | None
    bill_duration: int | None
    dial_status: str


class DialOut(msgspec.Struct):
    """What one Dial's action request reported."""

    status: str
    ring_status: str
    hangup_cause: str
    b_leg_uuid: str


class CallOut(msgspec.Struct):
    """A call's current state, from the timeline view."""

    call_uuid: str
    first_seen: str
    direction: str
    from_number: str
    to_number: str
    status: str
    answered: bool
    hangup_cause: str
    hangup_cause_code: str
    hangup_cause_name: str
    hangup_source: str
    duration: int | None
    bill_duration: int | None
    start_time: str
    answer_time: str
    end_time: str
    legs: list[LegOut]
    dials: list[DialOut]
    late: int
    conflicts: int
    events: int
    cursor: int  # this call's place in list order (its first event's log position)


class CallPage(msgspec.Struct):
    """A page of calls; pass ``next_cursor`` as ``cursor`` for the next page."""

    items: list[CallOut]
    next_cursor: int | None
    position: int


class CallResponse(msgspec.Struct):
    """One call, and the log position the view reflects."""

    call: CallOut
    position: int


class EntryOut(msgspec.Struct):
    """One recorded callback in a call's timeline, with its verdict."""

    position: int
    received_at: str
    kind: str
    event: str
    reported_status: str
    verdict: str
    status_after: str
    params: dict[str, str]


class TimelineResponse(msgspec.Struct):
    """A call and every callback recorded for it, in log order."""

    call: CallOut
    entries: list[EntryOut]
    position: int


class CauseRow(msgspec.Struct):
    """Calls that ended with one hangup cause code (and source)."""

    cause_code: str
    cause_name: str
    cause_source: str
    category: str
    calls: int
    answered: int
    share: float


class HangupCauses(msgspec.Struct):
    """Calls by hangup cause over a time range."""

    rows: list[CauseRow]
    total: int
    position: int


class KpiOut(msgspec.Struct):
    """KPIs of one bucket (or of the whole range); a ratio is null below the minimum count."""

    bucket: str
    attempts: int
    answered: int
    asr: float | None
    ner: float | None
    acd: float | None
    pdd_p50: float | None
    pdd_p95: float | None


class KpiReport(msgspec.Struct):
    """KPIs per bucket and over the whole range."""

    buckets: list[KpiOut]
    total: KpiOut
    position: int


class EventOut(msgspec.Struct):
    """One stored event as it is in the log (state as stored JSON)."""

    position: int
    aggregate_id: str
    version: int
    topic: str
    state: dict[str, Any]


class EventPage(msgspec.Struct):
    """A page of the raw event stream; pass ``next_after`` as ``after`` to continue."""

    items: list[EventOut]
    next_after: int
    position: int
