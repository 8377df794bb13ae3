"""The timeline read model: one row per call, and one entry per recorded callback.

A call's row is folded from its events and kept in the view (``timeline_sql.py`` writes
it) in the read contract's terms (``records.py``): numbers in E.164, cause codes as
integers, Plivo's local times as UTC instants. Its entries are its events themselves:
the log keeps every callback verbatim, indexed by call, so the timeline reads them from
there (``queries.timeline_entries``), cut at the position the call's row reflects.
"""

from __future__ import annotations

from datetime import tzinfo
from operator import attrgetter
from typing import Any

import msgspec

from domain.call import Call
from domain.hangup_causes import CAUSES, integer_code
from domain.legs import DialOutcome, Leg
from domain.numbers import e164
from domain.reconciled import text
from domain.status import STATUS_TEXT
from projections.records import DialRecord, EntryRecord, LegRecord
from projections.times import plivo_micros, to_micros

_json = msgspec.json.Encoder()


def entry_of(event: Call.CallbackEvent, position: int) -> EntryRecord:
    """The timeline entry of one stored callback event.

    A record read from the Call API (``Call.Reconciled``) is marked ``source=call_api``,
    with the kind of the webhook it stands for (``hangup``, or ``dial_callback`` for a B
    leg's record) and its params verbatim as the Call API wrote them (as text).
    """
    if isinstance(event, Call.Reconciled):
        leg = event.params.get("DialBLegUUID")
        return EntryRecord(
            position=position,
            received_at=event.timestamp,
            source="call_api",
            kind="dial_callback" if leg else "hangup",
            event=type(event).__name__,
            reported_status=event.params.get("CallStatus") or None,
            verdict=event.verdict,  # type: ignore[arg-type]  # never "duplicate": not stored
            status_after=event.status,  # type: ignore[arg-type]  # a CallStatus value
            params={name: text(value) for name, value in event.record.items()},
        )
    return EntryRecord(
        position=position,
        received_at=event.timestamp,
        source="webhook",
        kind=event.kind,  # type: ignore[arg-type]  # a CallbackKind value
        event=type(event).__name__,
        reported_status=event.params.get("CallStatus"),
        verdict=event.verdict,  # type: ignore[arg-type]  # never "duplicate": not stored
        status_after=event.status,  # type: ignore[arg-type]  # a CallStatus value
        params=dict(event.params),
    )


CALL_COLUMNS = (
    "call_id",
    "call_uuid",
    "first_position",
    "last_position",
    "first_seen_at",
    "direction",
    "from_number",
    "to_number",
    "status",
    "answered",
    "hangup_cause",
    "hangup_cause_code",
    "hangup_cause_name",
    "hangup_category",
    "hangup_source",
    "duration",
    "bill_duration",
    "started_at",
    "answered_at",
    "ended_at",
    "legs",
    "dials",
    "late",
    "conflicts",
    "events",
    "last_seen_at",
    "reconciled",
)


def blank_none(text: str) -> str | None:
    """``None`` for a blank value: the contract's "not reported"."""
    return text or None


def category_of(code: int | None) -> str | None:
    """The category of a known cause code; ``None`` when there is no code."""
    if code is None:
        return None
    cause = CAUSES.get(code)
    return cause.category.value if cause else "unknown"


_by_uuid = attrgetter("uuid")
_TRUTH = {"true": True, "false": False}


def _leg_record(leg: Leg) -> LegRecord:
    return LegRecord(
        b_leg_uuid=leg.uuid,
        status=blank_none(leg.status),
        answered=leg.answered,
        to_number=blank_none(e164(leg.to)),
        hangup_cause=blank_none(leg.hangup_cause),
        hangup_cause_code=integer_code(leg.hangup_cause_code),
        hangup_cause_name=blank_none(leg.hangup_cause_name),
        hangup_source=blank_none(leg.hangup_source),
        duration=leg.duration,
        bill_duration=leg.bill_duration,
        dial_status=blank_none(leg.dial_status),
    )


def _dial_record(dial: DialOutcome) -> DialRecord:
    return DialRecord(
        dial_status=blank_none(dial.status),
        ring_status=_TRUTH.get(dial.ring_status.lower()),
        hangup_cause=blank_none(dial.hangup_cause),
        b_leg_uuid=blank_none(dial.b_leg_uuid),
    )


def _legs_text(legs: dict[str, Leg]) -> str:
    if not legs:
        return "[]"
    ordered = sorted(legs.values(), key=_by_uuid)
    return _json.encode([_leg_record(leg) for leg in ordered]).decode()


def _dials_text(dials: dict[str, DialOutcome]) -> str:
    if not dials:
        return "[]"
    values = list(dials.values())
    if len(values) > 1:
        values.sort(key=repr)  # as ``Call.summary`` orders them
    return _json.encode([_dial_record(dial) for dial in values]).decode()


def call_row(call: Call, call_id: str, first: int, last: int, zone: tzinfo) -> tuple[Any, ...]:
    """The summary row of a call after the events up to position ``last``; Plivo's local
    times are read in ``zone``, the account's time zone."""
    hangup = call.hangup
    parties = call.parties
    code = integer_code(hangup.cause_code) if hangup else None
    return (
        call_id,
        call.call_uuid,
        first,
        last,
        to_micros(call.created_on),
        parties.direction or None,
        blank_none(e164(parties.from_)),
        blank_none(e164(parties.to)),
        STATUS_TEXT[call.status] or None,
        call.answered,
        blank_none(hangup.cause) if hangup else None,
        code,
        blank_none(hangup.cause_name) if hangup else None,
        category_of(code),
        blank_none(hangup.source) if hangup else None,
        hangup.duration if hangup else None,
        hangup.bill_duration if hangup else None,
        plivo_micros(hangup.start_time, zone) if hangup else None,
        plivo_micros(hangup.answer_time, zone) if hangup else None,
        plivo_micros(hangup.end_time, zone) if hangup else None,
        _legs_text(call.legs),
        _dials_text(call.dials),
        call.late,
        call.conflicts,
        call.version - 1,  # the registration is not a callback
        to_micros(call.last_at or call.created_on),
        call.completed_by_api,
    )
