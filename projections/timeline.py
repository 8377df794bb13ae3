"""The timeline read model: one row per call, and one entry per recorded callback.

A call's row is folded from its events and kept in the view (``views.py`` writes it).
Its entries are its events themselves: the log keeps every callback verbatim, indexed by
call, so the timeline reads them from there (``queries.timeline_entries``), cut at the
position the call's row reflects, instead of keeping a second copy of every callback.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, get_type_hints

import msgspec

from domain.call import Call
from domain.legs import DialOutcome, Leg
from domain.status import STATUS_TEXT

_json = msgspec.json.Encoder()


def iso_microseconds(moment: datetime) -> str:
    """``moment.isoformat(timespec="microseconds")``, formatted by msgspec's encoder for
    UTC times with a fraction (the stored events' own), which is several times cheaper
    than the method, paid for every call a rebuild writes."""
    if moment.tzinfo is UTC and moment.microsecond:
        return f"{_json.encode(moment)[1:-2].decode()}+00:00"  # '"…Z"': quotes and zone
    return moment.isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class Entry:
    """One recorded callback of a call's timeline, at its position in the event log."""

    position: int
    received_at: str  # ISO 8601, microseconds
    kind: str
    event: str  # the event class: Rang, Answered, Ended, DialLegUpdated, CallbackRecorded
    reported_status: str  # CallStatus as sent ("" if none)
    verdict: str
    status_after: str
    params: dict[str, str]


def entry_of(event: Call.CallbackEvent, position: int) -> Entry:
    """The timeline entry of one stored callback event."""
    return Entry(
        position=position,
        received_at=iso_microseconds(event.timestamp),
        kind=event.kind,
        event=type(event).__name__,
        reported_status=event.params.get("CallStatus", ""),
        verdict=event.verdict,
        status_after=event.status or "",
        params=dict(event.params),
    )


CALL_COLUMNS = (
    "call_id",
    "call_uuid",
    "first_position",
    "last_position",
    "first_seen",
    "direction",
    "from_number",
    "to_number",
    "status",
    "answered",
    "hangup_cause",
    "hangup_cause_code",
    "hangup_cause_name",
    "hangup_source",
    "duration",
    "bill_duration",
    "start_time",
    "answer_time",
    "end_time",
    "legs",
    "dials",
    "late",
    "conflicts",
    "events",
)


_by_uuid = attrgetter("uuid")
# Legs and dials are stored as JSON objects of their fields: structs made from the named
# tuples encode so in C, far cheaper than ``_asdict``.
_LegRow = msgspec.defstruct("LegRow", list(get_type_hints(Leg).items()))
_DialRow = msgspec.defstruct("DialRow", list(get_type_hints(DialOutcome).items()))


def _in_order(dials: dict[str, DialOutcome]) -> list[DialOutcome]:
    """The call's dials sorted by their repr (as ``Call.summary``), which costs only when
    there is more than one."""
    values = list(dials.values())
    if len(values) > 1:
        values.sort(key=repr)
    return values


def _legs_text(legs: dict[str, Leg]) -> str:
    if not legs:
        return "[]"
    return _json.encode([_LegRow(*leg) for leg in sorted(legs.values(), key=_by_uuid)]).decode()


def _dials_text(dials: dict[str, DialOutcome]) -> str:
    if not dials:
        return "[]"
    return _json.encode([_DialRow(*dial) for dial in _in_order(dials)]).decode()


def call_row(call: Call, call_id: str, first: int, last: int) -> tuple[Any, ...]:
    """The summary row of a call after the events up to position ``last``."""
    hangup = call.hangup
    return (
        call_id,
        call.call_uuid,
        first,
        last,
        iso_microseconds(call.created_on),
        call.parties.direction,
        call.parties.from_,
        call.parties.to,
        STATUS_TEXT[call.status],
        int(call.answered),
        hangup.cause if hangup else "",
        hangup.cause_code if hangup else "",
        hangup.cause_name if hangup else "",
        hangup.source if hangup else "",
        hangup.duration if hangup else None,
        hangup.bill_duration if hangup else None,
        hangup.start_time if hangup else "",
        hangup.answer_time if hangup else "",
        hangup.end_time if hangup else "",
        _legs_text(call.legs),
        _dials_text(call.dials),
        call.late,
        call.conflicts,
        call.version,
    )
