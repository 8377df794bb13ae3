"""The read API's calls: the call list, one call, its timeline, and the raw event log."""

from __future__ import annotations

from typing import Annotated

from litestar import get
from litestar.params import FromPath, QueryParameter

from api.dependencies import CallLogDep, SettingsDep, ViewsDep
from api.errors import ApiError
from api.reading import (
    ERRORS,
    MAX_POSITION,
    DirectionParam,
    MinPosition,
    OrderParam,
    StatusParam,
    TimeParam,
    parse_time,
    position,
    view_at,
)
from api.schemas import CallPage, CallResponse, EventPage, TimelineResponse
from projections.log import event_record
from projections.queries import (
    CURSOR_PATTERN,
    CallFilter,
    CursorError,
    find_call,
    list_calls,
)
from projections.queries import timeline_entries as entries_of
from projections.records import CallRecord
from projections.sql import SqlView
from store.compression import json_of

MAX_LIMIT = 500

Limit = Annotated[
    int, QueryParameter(ge=1, le=MAX_LIMIT, description=f"calls per page, at most {MAX_LIMIT}")
]
CauseCode = Annotated[
    int | None,
    QueryParameter(ge=-(2**31), lt=2**31, description="Plivo's HangupCauseCode, e.g. 3010"),
]
Number = Annotated[str | None, QueryParameter(description="any form; compared in E.164")]


@get(
    "/calls",
    sync_to_thread=True,
    responses=ERRORS,
    summary="List calls",
    description="Calls in the order calltrail first saw them (`order=desc`: newest first),"
    " filtered, one page at a time: pass `next_cursor` back as `cursor`.",
)
def list_calls_route(
    views: ViewsDep,
    call_log: CallLogDep,
    settings: SettingsDep,
    status: StatusParam = None,
    direction: DirectionParam = None,
    hangup_cause_code: CauseCode = None,
    from_number: Annotated[Number, QueryParameter(name="from")] = None,
    to_number: Annotated[Number, QueryParameter(name="to")] = None,
    since: TimeParam = None,
    until: TimeParam = None,
    order: OrderParam = "asc",
    cursor: Annotated[
        str | None,
        QueryParameter(
            pattern=CURSOR_PATTERN,
            description="the previous page's next_cursor (with the same filters and order)",
        ),
    ] = None,
    limit: Limit = 100,
    min_position: MinPosition = 0,
) -> CallPage:
    """Calls in the order calltrail first saw them, filtered; cursor-paginated."""
    where = CallFilter(  # a bad parameter: 400, without waiting for the view
        status,
        direction,
        hangup_cause_code,
        from_number,
        to_number,
        parse_time("since", since),
        parse_time("until", until),
    )
    view = view_at(views.timeline, call_log, settings, min_position)
    seen_at = position(view)
    try:
        page = list_calls(
            view, where, cursor=cursor, limit=limit, order=order, masked=settings.mask_numbers
        )
    except CursorError as error:
        raise ApiError(400, "invalid_parameter", f"cursor: {error}") from None
    return CallPage(items=page.calls, next_cursor=page.next_cursor, position=seen_at)


def call_or_404(view: SqlView, call_uuid: str, masked: bool) -> CallRecord:
    """The call's summary, or 404."""
    call = find_call(view, call_uuid, masked)
    if call is None:
        raise ApiError(404, "unknown_call", f"no call {call_uuid!r} in the timeline")
    return call


@get(
    "/calls/{call_uuid:str}",
    sync_to_thread=True,
    responses=ERRORS,
    summary="Get a call",
    description="One call's summary: status, answered, hangup cause, durations, times,"
    " numbers, B legs and Dial outcomes, after every callback recorded so far.",
)
def get_call(
    views: ViewsDep,
    call_log: CallLogDep,
    settings: SettingsDep,
    call_uuid: FromPath[str],
    min_position: MinPosition = 0,
) -> CallResponse:
    """One call's current state."""
    view = view_at(views.timeline, call_log, settings, min_position)
    call = call_or_404(view, call_uuid, settings.mask_numbers)
    return CallResponse(call=call, position=position(view))


@get(
    "/calls/{call_uuid:str}/timeline",
    sync_to_thread=True,
    responses=ERRORS,
    summary="Get a call's timeline",
    description="Every callback recorded for the call, in log order, with its verdict"
    " (advanced, repeated, late, conflict, unrecognised) and its parameters verbatim.",
)
def get_timeline(
    views: ViewsDep,
    call_log: CallLogDep,
    settings: SettingsDep,
    call_uuid: FromPath[str],
    min_position: MinPosition = 0,
) -> TimelineResponse:
    """Every callback recorded for a call, in log order, with verdicts and verbatim params."""
    view = view_at(views.timeline, call_log, settings, min_position)
    masked = settings.mask_numbers
    call = call_or_404(view, call_uuid, masked)
    entries = entries_of(call_log, call, masked)
    return TimelineResponse(call=call, entries=entries, position=position(view))


@get(
    "/events",
    sync_to_thread=True,
    responses=ERRORS,
    summary="Read the event log",
    description="The stored events after position `after`, as stored, for consumers that"
    " replay the log themselves; pass `next_after` back as `after`.",
)
def events(
    call_log: CallLogDep,
    after: Annotated[int, QueryParameter(ge=0, le=MAX_POSITION)] = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1000,
) -> EventPage:
    """The raw event log after position ``after``, for consumers that replay it themselves."""
    recorder = call_log.recorder
    page = recorder.select_notifications(start=after + 1, limit=limit)
    items = [
        event_record(n.id, n.originator_id, n.originator_version, n.topic, json_of(n.state))
        for n in page
    ]
    head = int(recorder.max_notification_id() or 0)
    return EventPage(items=items, next_after=items[-1].position if items else after, position=head)
