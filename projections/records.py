"""The read contract: what a call, a timeline entry, a cause row and a KPI row are, once.

The read API, the exports, the Prometheus labels and the console all speak these names
and types: one name per fact, cause codes and counts as integers, flags as booleans,
times as UTC datetimes (RFC 3339 on the wire), numbers in E.164. Plivo's own spellings
stay only where they are verbatim: a timeline entry's ``params``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

import msgspec

from domain.callbacks import CallbackKind
from domain.hangup_causes import CauseCategory
from domain.status import CallStatus, Verdict

Direction = Literal["inbound", "outbound"]
Status = Literal[
    "ringing", "in-progress", "completed", "busy", "no-answer", "cancel", "timeout", "failed"
]
Kind = Literal["answer", "fallback", "ring", "hangup", "dial_action", "dial_callback"]
VerdictName = Literal["advanced", "repeated", "late", "conflict", "unrecognised"]
Category = Literal["answered", "user", "network", "cancelled", "application", "unknown"]
Source = Literal["webhook", "call_api"]

DIRECTIONS: tuple[Direction, ...] = ("inbound", "outbound")
STATUSES: tuple[Status, ...] = (
    "ringing",
    "in-progress",
    "completed",
    "busy",
    "no-answer",
    "cancel",
    "timeout",
    "failed",
)


class LegRecord(msgspec.Struct, kw_only=True):
    """A B leg of a Dial, as the Dial callbacks and action reported it."""

    b_leg_uuid: str
    status: str | None  # the leg's furthest Dial event: answer, connected, hangup
    answered: bool
    to_number: str | None
    hangup_cause: str | None
    hangup_cause_code: int | None
    hangup_cause_name: str | None
    hangup_source: str | None
    duration: int | None
    bill_duration: int | None
    dial_status: str | None


class DialRecord(msgspec.Struct, kw_only=True):
    """What one Dial's action request reported when the Dial ended."""

    dial_status: str | None
    ring_status: bool | None
    hangup_cause: str | None
    b_leg_uuid: str | None


class CallRecord(msgspec.Struct, kw_only=True):
    """A call's summary: its state after every callback recorded so far."""

    call_uuid: str
    first_position: int  # the log position of its first event
    last_position: int  # the log position of the last event the summary reflects
    first_seen_at: datetime
    direction: str | None
    from_number: str | None
    to_number: str | None
    status: Status | None
    answered: bool
    hangup_cause: str | None
    hangup_cause_code: int | None
    hangup_cause_name: str | None
    hangup_category: Category | None
    hangup_source: str | None
    duration: int | None
    bill_duration: int | None
    started_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    legs: list[LegRecord]
    dials: list[DialRecord]
    late: int
    conflicts: int
    events: int  # callbacks recorded: the entries of its timeline


class EntryRecord(msgspec.Struct, kw_only=True):
    """One recorded callback of a call's timeline, at its position in the event log."""

    position: int
    received_at: datetime
    source: Source  # a webhook, or a record read from Plivo's Call API
    kind: Kind
    event: str  # the event class: Rang, Answered, Ended, DialLegUpdated, CallbackRecorded
    reported_status: str | None  # CallStatus as sent
    verdict: VerdictName
    status_after: Status | None
    params: dict[str, str]  # verbatim, as Plivo sent them


class CauseRecord(msgspec.Struct, kw_only=True):
    """Ended calls with one hangup cause code and source."""

    hangup_cause_code: int | None
    hangup_cause_name: str | None
    hangup_source: str | None
    hangup_category: Category
    calls: int
    answered: int
    share: float


class KpiRecord(msgspec.Struct, kw_only=True):
    """KPIs of a set of ended calls; a ratio is null below the minimum count."""

    attempts: int
    answered: int
    asr: float | None
    ner: float | None
    acd: float | None
    pdd_p50: float | None
    pdd_p95: float | None


class KpiBucket(KpiRecord, kw_only=True):
    """KPIs of the calls that started in one hour or day (UTC)."""

    bucket_start: datetime


def enum_values(enum: Any) -> tuple[str, ...]:
    """The wire values of a domain enum, for checks that the literals above agree."""
    return tuple(member.value for member in enum)


# The literals are the domain's enums spelled out for the schema; a test checks they agree.
DOMAIN_ENUMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "status": (STATUSES, enum_values(CallStatus)),
    "kind": (get_args(Kind), enum_values(CallbackKind)),
    "verdict": (
        get_args(VerdictName),
        tuple(v for v in enum_values(Verdict) if v != Verdict.DUPLICATE.value),
    ),
    "category": (get_args(Category), enum_values(CauseCategory)),
}


class EventRecord(msgspec.Struct, kw_only=True):
    """One stored event as the log holds it: what the events export and ``/v1/events``
    give, for consumers that replay the log themselves."""

    position: int
    aggregate_id: str
    version: int
    topic: str
    occurred_at: datetime | None  # null only for a state without a readable time
    # The stored state, as stored; one that is not a JSON object (a damaged row) is given
    # as {"unreadable_state": its text}, so that it never fails a read of the log.
    state: dict[str, Any]
