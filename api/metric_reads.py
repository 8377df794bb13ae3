"""The read API's metrics: calls per hangup cause, and KPIs over time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from litestar import get
from litestar.params import FromQuery, QueryParameter

from api.dependencies import CallLogDep, SettingsDep, ViewsDep
from api.reading import ERRORS, MinPosition, position, utc, view_at
from api.schemas import CauseRow, HangupCauses, KpiOut, KpiReport
from domain.hangup_causes import lookup
from projections.hangup_metrics import PDD_BOUNDS
from projections.queries import metric_counters
from projections.ratios import CounterRow, Kpis, kpis


def hour_bounds(since: datetime | None, until: datetime | None) -> tuple[str | None, str | None]:
    """Bucket bounds: from the hour holding ``since`` to the end of the hour holding ``until``."""
    start, end = utc(since), utc(until)
    floor = start.replace(minute=0, second=0, microsecond=0) if start else None
    ceiling = None
    if end is not None:
        ceiling = end.replace(minute=0, second=0, microsecond=0)
        if ceiling != end:
            ceiling += timedelta(hours=1)
    return (
        floor.isoformat() if floor else None,
        ceiling.isoformat() if ceiling else None,
    )


@get("/metrics/hangup-causes", sync_to_thread=True, responses=ERRORS)
def hangup_causes(
    views: ViewsDep,
    call_log: CallLogDep,
    settings: SettingsDep,
    since: FromQuery[datetime | None] = None,
    until: FromQuery[datetime | None] = None,
    direction: FromQuery[str | None] = None,
    min_position: MinPosition = 0,
) -> HangupCauses:
    """Ended calls per hangup cause code and source, with their share of all calls."""
    view = view_at(views.metrics, call_log, settings, min_position)
    seen_at = position(view)
    totals: dict[tuple[str, str], list[Any]] = {}
    for row in metric_counters(view, "call", *hour_bounds(since, until), direction):
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
    views: ViewsDep,
    call_log: CallLogDep,
    settings: SettingsDep,
    since: FromQuery[datetime | None] = None,
    until: FromQuery[datetime | None] = None,
    direction: FromQuery[str | None] = None,
    bucket: FromQuery[Literal["hour", "day"]] = "hour",
    min_count: Annotated[int, QueryParameter(ge=1)] = 1,
    min_position: MinPosition = 0,
) -> KpiReport:
    """ASR, NER, ACD and PDD per hour or day, and over the whole range."""
    view = view_at(views.metrics, call_log, settings, min_position)
    seen_at = position(view)
    width = 13 if bucket == "hour" else 10
    grouped: dict[str, list[CounterRow]] = {}
    every: list[CounterRow] = []
    for row in metric_counters(view, "call", *hour_bounds(since, until), direction):
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
