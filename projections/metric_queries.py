"""Reads of the metrics view in the read contract's terms: ended calls per hangup cause,
and KPIs per hour or day (``ratios.py`` computes them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from domain.hangup_causes import integer_code, lookup
from projections.hangup_metrics import PDD_BOUNDS
from projections.ratios import CounterRow, Kpis, kpis, user_outcome
from projections.records import CauseRecord, KpiBucket, KpiRecord
from projections.sql import SqlView

Bucket = Literal["hour", "day"]
_HOUR = timedelta(hours=1)


def hour_bounds(since: datetime | None, until: datetime | None) -> tuple[str | None, str | None]:
    """Counter buckets from the hour holding ``since`` to the end of the hour holding
    ``until`` (UTC), as the view keys them; an end past the last hour means no end."""
    floor = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0) if since else None
    ceiling = None
    if until is not None:
        ceiling = until.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        if ceiling != until:
            try:
                ceiling += _HOUR
            except OverflowError:
                ceiling = None
    return (
        floor.isoformat() if floor else None,
        ceiling.isoformat() if ceiling else None,
    )


def _range(
    since: datetime | None, until: datetime | None, direction: str | None
) -> tuple[str, list[Any]]:
    """The WHERE clause of the calls' counter rows in the range: a range of the primary
    key (scope, bucket, …)."""
    low, high = hour_bounds(since, until)
    clauses: list[str] = ["scope = 'call'"]
    params: list[Any] = []
    for clause, value in (("bucket >= ?", low), ("bucket < ?", high), ("direction = ?", direction)):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    return " AND ".join(clauses), params


# The store sums the counters (one row per hour, direction, status and cause in the
# range) into what a read returns, so a read over a long range moves sums, not rows.
_PDD_NAMES = tuple(f"pdd_{i}" for i in range(len(PDD_BOUNDS)))
_PDD_SUMS = ", ".join(f"SUM({name}) AS {name}" for name in _PDD_NAMES)
_VALUE_SUMS = "SUM(calls) AS calls, SUM(answered) AS answered, SUM(talk_seconds) AS talk_seconds"


def hangup_causes(
    view: SqlView, since: datetime | None, until: datetime | None, direction: str | None
) -> tuple[list[CauseRecord], int]:
    """Ended calls per hangup cause code and source, with their share; and the total."""
    totals: dict[tuple[int | None, str], list[Any]] = {}
    where, params = _range(since, until, direction)
    query = (
        "SELECT cause_code, cause_source, MAX(cause_name) AS cause_name,"
        f" SUM(calls) AS calls, SUM(answered) AS answered FROM {{p}}counters WHERE {where}"
        " GROUP BY cause_code, cause_source"
    )
    for row in view.rows(query, params):
        key = (integer_code(row["cause_code"]), row["cause_source"])
        entry = totals.setdefault(key, [row["cause_name"], 0, 0])
        entry[0] = entry[0] or row["cause_name"]
        entry[1] += int(row["calls"])
        entry[2] += int(row["answered"])
    total = sum(entry[1] for entry in totals.values())
    rows = [
        CauseRecord(
            hangup_cause_code=code,
            hangup_cause_name=name or (lookup(code).name if code is not None else None),
            hangup_source=source or None,
            hangup_category=lookup(code).category.value,
            calls=calls,
            answered=answered,
            share=calls / total,
        )
        for (code, source), (name, calls, answered) in sorted(totals.items(), key=_cause_order)
        if calls
    ]
    return rows, total


def _cause_order(item: tuple[tuple[int | None, str], list[Any]]) -> tuple[int, int, str]:
    (code, source), _ = item
    return (code is None, code or 0, source)


def _record(result: Kpis) -> KpiRecord:
    return KpiRecord(
        attempts=result.attempts,
        answered=result.answered,
        asr=result.asr,
        ner=result.ner,
        acd=result.acd,
        pdd_p50=result.pdd_p50,
        pdd_p95=result.pdd_p95,
    )


def kpi_buckets(
    view: SqlView,
    since: datetime | None,
    until: datetime | None,
    direction: str | None,
    bucket: Bucket,
    min_count: int,
) -> tuple[list[KpiBucket], KpiRecord]:
    """KPIs per hour or day (UTC) and over the whole range."""
    width = 13 if bucket == "hour" else 10  # of the bucket's text: "YYYY-MM-DDTHH" or the day
    grouped: dict[str, list[CounterRow]] = {}
    every: list[CounterRow] = []
    where, params = _range(since, until, direction)
    # Summed per period and per "callee's doing or not" (all a KPI needs of a cause), so
    # a long range gives two rows an hour, not one per status and cause. Which of the
    # range's codes are the callee's doing is decided here, by the domain's table.
    codes = view.rows(f"SELECT DISTINCT cause_code FROM {{p}}counters WHERE {where}", params)
    users = [row["cause_code"] for row in codes if user_outcome(row["cause_code"])]
    flag = f"cause_code IN ({', '.join('?' * len(users))})" if users else "1 = 0"
    query = (
        f"SELECT substr(bucket, 1, {width}) AS period,"
        f" CASE WHEN {flag} THEN 1 ELSE 0 END AS user_outcome, {_VALUE_SUMS}, {_PDD_SUMS}"
        f" FROM {{p}}counters WHERE {where} GROUP BY period, user_outcome ORDER BY period"
    )
    for row in view.rows(query, [*users, *params]):
        pdd = tuple([int(row[name]) for name in _PDD_NAMES])
        counter = CounterRow(
            "",
            "",
            int(row["calls"]),
            int(row["answered"]),
            int(row["talk_seconds"]),
            pdd,
            user_outcome=bool(row["user_outcome"]),
        )
        grouped.setdefault(row["period"], []).append(counter)
        every.append(counter)
    buckets = [
        KpiBucket(bucket_start=_bucket_start(key), **_fields(kpis(rows, min_count)))
        for key, rows in sorted(grouped.items())
    ]
    return buckets, _record(kpis(every, min_count))


def _fields(result: Kpis) -> dict[str, Any]:
    record = _record(result)
    return {name: getattr(record, name) for name in record.__struct_fields__}


def _bucket_start(key: str) -> datetime:
    """The start of a bucket from its text: ``YYYY-MM-DDTHH`` or ``YYYY-MM-DD``, UTC."""
    text = f"{key}:00:00" if "T" in key else key
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
