"""The timeline read model: one row per call, one entry per recorded callback.

Pure functions from events and folded calls to rows; ``views.py`` writes them.
"""

from __future__ import annotations

from typing import Any

import msgspec

from domain.call import Call
from domain.legs import DialOutcome, Leg

_json = msgspec.json.Encoder()
encode_params = _json.encode  # a callback's params as the timeline stores them (bytes)

ENTRY_COLUMNS = (
    "position",
    "call_id",
    "version",
    "received_at",
    "kind",
    "event",
    "reported_status",
    "verdict",
    "status_after",
    "params",
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


def _by_uuid(leg: Leg) -> str:
    return leg.uuid


def _in_order(dials: dict[str, DialOutcome]) -> list[DialOutcome]:
    """The call's dials sorted by their repr (as ``Call.summary``), which costs only when
    there is more than one."""
    values = list(dials.values())
    if len(values) > 1:
        values.sort(key=repr)
    return values


def entry_row(
    event: Call.CallbackEvent | Any, position: int, call_id: str, version: int, name: str
) -> tuple[Any, ...]:
    """The timeline entry of one recorded callback (event class ``name``, the call's
    ``version`` after it), at its position in the event log.

    ``event`` is the event, or anything with its fields (a replay's decoded state).
    """
    return (
        position,
        call_id,
        version,
        event.timestamp.isoformat(timespec="microseconds"),
        event.kind,
        name,
        event.params.get("CallStatus", ""),
        event.verdict,
        event.status or "",
        _json.encode(event.params).decode(),
    )


def call_row(call: Call, call_id: str, first: int, last: int) -> tuple[Any, ...]:
    """The summary row of a call after the events up to position ``last``."""
    hangup = call.hangup
    return (
        call_id,
        call.call_uuid,
        first,
        last,
        call.created_on.isoformat(timespec="microseconds"),
        call.parties.direction,
        call.parties.from_,
        call.parties.to,
        call.status.value if call.status else "",
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
        _json.encode(sorted(call.legs.values(), key=_by_uuid)).decode(),
        _json.encode(_in_order(call.dials)).decode(),
        call.late,
        call.conflicts,
        call.version,
    )
