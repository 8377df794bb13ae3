"""The read API under ``/v1``: calls, timelines, hangup-cause metrics, KPIs, raw events.

Every response carries the log position its view reflects (body ``position`` and header
``X-Calltrail-Position``); ``min_position`` waits, bounded, for the view to reach a
position, so a client reads its own writes without sleeping. Bearer keys from
``CALLTRAIL_API_KEYS`` guard it all. A parameter a view could not compare (a time out of
range once in UTC, a NUL character) is a 400 naming it (``api/read_params.py``).
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Router, get
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, QueryParameter

from api.errors import ApiError, ErrorBody
from api.read_params import hour_bounds, refuse_nul, stamp
from api.schemas import (
    CallOut,
    CallPage,
    CallResponse,
    CauseRow,
    DialOut,
    EntryOut,
    EventOut,
    EventPage,
    HangupCauses,
    KpiOut,
    KpiReport,
    LegOut,
    TimelineResponse,
)
from domain.hangup_causes import lookup
from projections.hangup_metrics import PDD_BOUNDS
from projections.queries import (
    CallFilter,
    metric_counters,
    timeline_call,
    timeline_calls,
    timeline_entries,
)
from projections.ratios import CounterRow, Kpis, kpis

MAX_POSITION = 2**53 - 1  # fits both stores and every JSON number parser exactly
ERRORS = {
    401: ResponseSpec(ErrorBody, description="missing or unknown API key"),
    404: ResponseSpec(ErrorBody, description="no such call"),
    409: ResponseSpec(ErrorBody, description="min_position is past the end of the log"),
    503: ResponseSpec(ErrorBody, description="the view has not reached min_position in time"),
}
MinPosition = Annotated[
    int,
    QueryParameter(
        ge=0,
        le=MAX_POSITION,
        description="wait (CALLTRAIL_READ_WAIT_MS, 5 s) for the view to reach this position",
    ),
]
_legs = msgspec.json.Decoder(list[LegOut])
_dials = msgspec.json.Decoder(list[DialOut])
_state = msgspec.json.Decoder(dict[str, Any])


def require_api_key(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """401 unless ``Authorization: Bearer <key>`` holds one of the configured keys."""
    keys: tuple[str, ...] = connection.app.state.settings.api_keys
    scheme, _sep, given = connection.headers.get("authorization", "").partition(" ")
    supplied = given.strip().encode()
    matched = False
    for key in keys:  # every key compared, in constant time
        matched |= hmac.compare_digest(key.encode(), supplied)
    if scheme.lower() != "bearer" or not matched:
        raise NotAuthorizedException("a valid 'Authorization: Bearer <key>' header is required")


def view_at(request: Request[Any, Any, Any], name: str, min_position: int | None) -> Any:
    """The view ``name``, once it reflects at least ``min_position`` (else 503)."""
    view = request.app.state.views[name]
    if min_position:
        head = int(request.app.state.call_log.recorder.max_notification_id() or 0)
        if min_position > head:
            raise ApiError(
                409,
                "position_not_reached",
                f"min_position {min_position} is past the log's end ({head})",
            )
        wait = request.app.state.settings.read_wait_ms / 1000
        try:
            view.wait("CallLog", min_position, timeout=wait)
        except TimeoutError:
            raise ApiError(
                503, "view_behind", f"the {name} view has not reached {min_position} yet"
            ) from None
    return view


def position(view: Any) -> int:
    """The last log position the view has applied."""
    return int(view.max_tracking_id("CallLog") or 0)


def mask(number: str, on: bool) -> str:
    """Hide all but the last four characters of a number when masking is on."""
    return number if not on or len(number) <= 4 else "•" * (len(number) - 4) + number[-4:]


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
    request: Request[Any, Any, Any],
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
    bounds = stamp(since, "since"), stamp(until, "until")  # a bad one: 400, without waiting
    view = view_at(request, "timeline", min_position)
    seen_at = position(view)
    where = CallFilter(status, direction, hangup_cause_code, from_number, to_number, *bounds)
    rows = timeline_calls(view, where, cursor, limit)
    masked = request.app.state.settings.mask_numbers
    items = [call_out(row, masked) for row in rows]
    next_cursor = items[-1].cursor if len(items) == limit else None
    return CallPage(items=items, next_cursor=next_cursor, position=seen_at)


def find_call(request: Request[Any, Any, Any], call_uuid: str, min_position: int | None) -> Any:
    view = view_at(request, "timeline", min_position)
    row = timeline_call(view, call_uuid)
    if row is None:
        raise ApiError(404, "unknown_call", f"no call {call_uuid!r} in the timeline")
    return view, row


@get("/calls/{call_uuid:str}", sync_to_thread=True, responses=ERRORS)
def get_call(
    request: Request[Any, Any, Any], call_uuid: FromPath[str], min_position: MinPosition = 0
) -> CallResponse:
    """One call's current state."""
    view, row = find_call(request, call_uuid, min_position)
    masked = request.app.state.settings.mask_numbers
    return CallResponse(call=call_out(row, masked), position=position(view))


@get("/calls/{call_uuid:str}/timeline", sync_to_thread=True, responses=ERRORS)
def get_timeline(
    request: Request[Any, Any, Any], call_uuid: FromPath[str], min_position: MinPosition = 0
) -> TimelineResponse:
    """Every callback recorded for a call, in log order, with verdicts and verbatim params."""
    view, row = find_call(request, call_uuid, min_position)
    masked = request.app.state.settings.mask_numbers
    entries = []
    for entry in timeline_entries(request.app.state.call_log, row):
        out = msgspec.convert(entry, EntryOut, from_attributes=True)
        if masked:
            out.params |= {k: mask(out.params[k], True) for k in ("From", "To") if k in out.params}
        entries.append(out)
    return TimelineResponse(call=call_out(row, masked), entries=entries, position=position(view))


@get("/metrics/hangup-causes", sync_to_thread=True, responses=ERRORS)
def hangup_causes(
    request: Request[Any, Any, Any],
    since: FromQuery[datetime | None] = None,
    until: FromQuery[datetime | None] = None,
    direction: FromQuery[str | None] = None,
    min_position: MinPosition = 0,
) -> HangupCauses:
    """Ended calls per hangup cause code and source, with their share of all calls."""
    bounds = hour_bounds(since, until)  # a bad one: 400, without waiting
    view = view_at(request, "metrics", min_position)
    seen_at = position(view)
    totals: dict[tuple[str, str], list[Any]] = {}
    for row in metric_counters(view, "call", *bounds, direction):
        entry = totals.setdefault(
            (row["cause_code"], row["cause_source"]), [row["cause_name"], 0, 0]
        )
        entry[1] += row["calls"]
        entry[2] += row["answered"]
    total = sum(entry[1] for entry in totals.values())
    rows = [
        CauseRow(code, name, source, lookup(code).category.value, calls, answered, calls / total)
        for (code, source), (name, calls, answered) in sorted(totals.items())
        if calls
    ]
    return HangupCauses(rows=rows, total=total, position=seen_at)


def kpi_out(bucket: str, result: Kpis) -> KpiOut:
    """A ``Kpis`` value as the API shows it."""
    return KpiOut(
        bucket,
        result.attempts,
        result.answered,
        result.asr,
        result.ner,
        result.acd,
        result.pdd_p50,
        result.pdd_p95,
    )


@get("/metrics/kpis", sync_to_thread=True, responses=ERRORS)
def kpi_report(
    request: Request[Any, Any, Any],
    since: FromQuery[datetime | None] = None,
    until: FromQuery[datetime | None] = None,
    direction: FromQuery[str | None] = None,
    bucket: FromQuery[Literal["hour", "day"]] = "hour",
    min_count: Annotated[int, QueryParameter(ge=1)] = 1,
    min_position: MinPosition = 0,
) -> KpiReport:
    """ASR, NER, ACD and PDD per hour or day, and over the whole range."""
    bounds = hour_bounds(since, until)  # a bad one: 400, without waiting
    view = view_at(request, "metrics", min_position)
    seen_at = position(view)
    width = 13 if bucket == "hour" else 10
    grouped: dict[str, list[CounterRow]] = {}
    every: list[CounterRow] = []
    for row in metric_counters(view, "call", *bounds, direction):
        pdd = tuple(row[f"pdd_{i}"] for i in range(len(PDD_BOUNDS)))
        counter = CounterRow(
            row["status"],
            row["cause_code"],
            row["calls"],
            row["answered"],
            row["talk_seconds"],
            pdd,
        )
        grouped.setdefault(row["bucket"][:width], []).append(counter)
        every.append(counter)
    buckets = [kpi_out(key, kpis(rows, min_count)) for key, rows in sorted(grouped.items())]
    return KpiReport(
        buckets=buckets, total=kpi_out("total", kpis(every, min_count)), position=seen_at
    )


@get("/events", sync_to_thread=True, responses=ERRORS)
def events(
    request: Request[Any, Any, Any],
    after: Annotated[int, QueryParameter(ge=0, le=MAX_POSITION)] = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1000,
) -> EventPage:
    """The raw event log after position ``after``, for consumers that replay it themselves."""
    recorder = request.app.state.call_log.recorder
    page = recorder.select_notifications(start=after + 1, limit=limit)
    items = [
        EventOut(n.id, str(n.originator_id), n.originator_version, n.topic, _state.decode(n.state))
        for n in page
    ]
    head = int(recorder.max_notification_id() or 0)
    return EventPage(items=items, next_after=items[-1].position if items else after, position=head)


read_api = Router(
    path="/v1",
    route_handlers=[list_calls, get_call, get_timeline, hangup_causes, kpi_report, events],
    guards=[require_api_key, refuse_nul],
    tags=["read API"],
)
