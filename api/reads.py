"""The read API's calls: the call list, one call, its timeline, and the raw event log."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import get
from litestar.params import FromPath, FromQuery, QueryParameter

from api.dependencies import CallLogDep, SettingsDep, ViewsDep
from api.errors import ApiError
from api.reading import ERRORS, MAX_POSITION, MinPosition, mask, position, stamp, view_at
from api.schemas import (
    CallOut,
    CallPage,
    CallResponse,
    DialOut,
    EntryOut,
    EventOut,
    EventPage,
    LegOut,
    TimelineResponse,
)
from projections.queries import CallFilter, timeline_call, timeline_calls, timeline_entries
from projections.timeline_sql import TimelineSql

_legs = msgspec.json.Decoder(list[LegOut])
_dials = msgspec.json.Decoder(list[DialOut])
_state = msgspec.json.Decoder(dict[str, Any])


def call_out(row: Any, masked: bool) -> CallOut:
    """A timeline ``calls`` row as the API shows it."""
    return CallOut(
        call_uuid=row["call_uuid"],
        first_seen=row["first_seen"],
        direction=row["direction"],
        from_number=mask(row["from_number"], masked),
        to_number=mask(row["to_number"], masked),
        status=row["status"],
        answered=bool(row["answered"]),
        hangup_cause=row["hangup_cause"],
        hangup_cause_code=row["hangup_cause_code"],
        hangup_cause_name=row["hangup_cause_name"],
        hangup_source=row["hangup_source"],
        duration=row["duration"],
        bill_duration=row["bill_duration"],
        start_time=row["start_time"],
        answer_time=row["answer_time"],
        end_time=row["end_time"],
        legs=_legs.decode(row["legs"]),
        dials=_dials.decode(row["dials"]),
        late=row["late"],
        conflicts=row["conflicts"],
        events=row["events"],
        cursor=row["first_position"],
    )


@get("/calls", sync_to_thread=True, responses=ERRORS)
def list_calls(
    views: ViewsDep,
    call_log: CallLogDep,
    settings: SettingsDep,
    status: FromQuery[str | None] = None,
    direction: FromQuery[str | None] = None,
    hangup_cause_code: FromQuery[str | None] = None,
    from_number: Annotated[str | None, QueryParameter(name="from")] = None,
    to_number: Annotated[str | None, QueryParameter(name="to")] = None,
    since: FromQuery[datetime | None] = None,
    until: FromQuery[datetime | None] = None,
    cursor: Annotated[int, QueryParameter(ge=0, le=MAX_POSITION)] = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    min_position: MinPosition = 0,
) -> CallPage:
    """Calls in the order calltrail first saw them, filtered; cursor-paginated."""
    view = view_at(views.timeline, call_log, settings, min_position)
    seen_at = position(view)
    where = CallFilter(
        status, direction, hangup_cause_code, from_number, to_number, stamp(since), stamp(until)
    )
    rows = timeline_calls(view, where, cursor, limit)
    masked = settings.mask_numbers
    items = [call_out(row, masked) for row in rows]
    next_cursor = items[-1].cursor if len(items) == limit else None
    return CallPage(items=items, next_cursor=next_cursor, position=seen_at)


def find_call(view: TimelineSql, call_uuid: str) -> Mapping[str, Any]:
    """The call's row in the timeline, or 404."""
    row = timeline_call(view, call_uuid)
    if row is None:
        raise ApiError(404, "unknown_call", f"no call {call_uuid!r} in the timeline")
    return row


@get("/calls/{call_uuid:str}", sync_to_thread=True, responses=ERRORS)
def get_call(
    views: ViewsDep,
    call_log: CallLogDep,
    settings: SettingsDep,
    call_uuid: FromPath[str],
    min_position: MinPosition = 0,
) -> CallResponse:
    """One call's current state."""
    view = view_at(views.timeline, call_log, settings, min_position)
    row = find_call(view, call_uuid)
    return CallResponse(call=call_out(row, settings.mask_numbers), position=position(view))


@get("/calls/{call_uuid:str}/timeline", sync_to_thread=True, responses=ERRORS)
def get_timeline(
    views: ViewsDep,
    call_log: CallLogDep,
    settings: SettingsDep,
    call_uuid: FromPath[str],
    min_position: MinPosition = 0,
) -> TimelineResponse:
    """Every callback recorded for a call, in log order, with verdicts and verbatim params."""
    view = view_at(views.timeline, call_log, settings, min_position)
    row = find_call(view, call_uuid)
    masked = settings.mask_numbers
    entries = []
    for entry in timeline_entries(call_log, row):
        out = msgspec.convert(entry, EntryOut, from_attributes=True)
        if masked:
            out.params |= {k: mask(out.params[k], True) for k in ("From", "To") if k in out.params}
        entries.append(out)
    return TimelineResponse(call=call_out(row, masked), entries=entries, position=position(view))


@get("/events", sync_to_thread=True, responses=ERRORS)
def events(
    call_log: CallLogDep,
    after: Annotated[int, QueryParameter(ge=0, le=MAX_POSITION)] = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1000,
) -> EventPage:
    """The raw event log after position ``after``, for consumers that replay it themselves."""
    recorder = call_log.recorder
    page = recorder.select_notifications(start=after + 1, limit=limit)
    items = [
        EventOut(n.id, str(n.originator_id), n.originator_version, n.topic, _state.decode(n.state))
        for n in page
    ]
    head = int(recorder.max_notification_id() or 0)
    return EventPage(items=items, next_after=items[-1].position if items else after, position=head)
