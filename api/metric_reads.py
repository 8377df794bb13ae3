"""The read API's metrics: ended calls per hangup cause, and KPIs over time."""

from __future__ import annotations

from typing import Annotated

from litestar import get
from litestar.params import QueryParameter

from api.dependencies import CallLogDep, SettingsDep, ViewsDep
from api.reading import (
    ERRORS,
    BucketParam,
    DirectionParam,
    MinPosition,
    TimeParam,
    parse_time,
    position,
    view_at,
)
from api.schemas import HangupCauses, KpiReport
from projections.metric_queries import hangup_causes, kpi_buckets


@get(
    "/metrics/hangup-causes",
    sync_to_thread=True,
    responses=ERRORS,
    summary="Calls per hangup cause",
    description="Ended calls per HangupCauseCode and HangupSource, with the cause's name,"
    " its category and its share of all ended calls, for calls that started in the range.",
)
def hangup_causes_route(
    views: ViewsDep,
    call_log: CallLogDep,
    settings: SettingsDep,
    since: TimeParam = None,
    until: TimeParam = None,
    direction: DirectionParam = None,
    min_position: MinPosition = 0,
) -> HangupCauses:
    """Ended calls per hangup cause code and source, with their share of all calls."""
    start, end = parse_time("since", since), parse_time("until", until)
    view = view_at(views.metrics, call_log, settings, min_position)
    seen_at = position(view)
    rows, total = hangup_causes(view, start, end, direction)
    return HangupCauses(rows=rows, total=total, position=seen_at)


@get(
    "/metrics/kpis",
    sync_to_thread=True,
    responses=ERRORS,
    summary="Call KPIs over time",
    description="ASR, NER, ACD and post-dial delay (p50, p95) per hour or day (UTC) and"
    " over the whole range, for calls that started in the range; a ratio is null when"
    " fewer than `min_count` calls back it.",
)
def kpi_report(
    views: ViewsDep,
    call_log: CallLogDep,
    settings: SettingsDep,
    since: TimeParam = None,
    until: TimeParam = None,
    direction: DirectionParam = None,
    bucket: BucketParam = "hour",
    min_count: Annotated[int, QueryParameter(ge=1, le=1_000_000)] = 1,
    min_position: MinPosition = 0,
) -> KpiReport:
    """ASR, NER, ACD and PDD per hour or day, and over the whole range."""
    start, end = parse_time("since", since), parse_time("until", until)
    view = view_at(views.metrics, call_log, settings, min_position)
    seen_at = position(view)
    buckets, total = kpi_buckets(view, start, end, direction, bucket, min_count)
    return KpiReport(bucket=bucket, buckets=buckets, total=total, position=seen_at)
