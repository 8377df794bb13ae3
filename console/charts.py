"""The causes and KPIs page: calls per hangup cause as a bar chart grouped by category,
and ASR, NER, ACD and PDD over time as line charts, each with its numbers in a table.

The charts are drawn in the browser by Chart.js from the numbers the page carries in
``data-chart`` attributes (JSON), which are the numbers of the tables under them and of
``/v1/metrics/hangup-causes`` and ``/v1/metrics/kpis`` for the same range.
"""

from __future__ import annotations

from typing import Any, get_args

import msgspec
from litestar import Request, get
from litestar.response import Template

from console.deps import ViewsDep
from console.filters import Form
from projections.metric_queries import Bucket, hangup_causes, kpi_buckets
from projections.records import DIRECTIONS, Category, CauseRecord, KpiBucket

CATEGORY_COLOURS = {
    "answered": "#1b7f3b",
    "user": "#2f6db5",
    "network": "#b35c00",
    "cancelled": "#6b3fa0",
    "application": "#a8326e",
    "unknown": "#5a6b7b",
}
_json = msgspec.json.Encoder()


def cause_label(row: CauseRecord) -> str:
    """A cause's bar label: code, name and source."""
    code = "no code" if row.hangup_cause_code is None else str(row.hangup_cause_code)
    name = row.hangup_cause_name or "unknown cause"
    return f"{code} {name}" + (f" ({row.hangup_source})" if row.hangup_source else "")


def by_category(rows: list[CauseRecord]) -> list[tuple[str, list[CauseRecord]]]:
    """The cause rows grouped by category, in the contract's category order."""
    order = get_args(Category)
    groups: dict[str, list[CauseRecord]] = {}
    for row in rows:
        groups.setdefault(row.hangup_category, []).append(row)
    return [(name, groups[name]) for name in order if name in groups]


def causes_chart(groups: list[tuple[str, list[CauseRecord]]]) -> str:
    """Chart.js data of the bar chart: a bar per cause, a colour (and legend entry) per
    category."""
    labels = [cause_label(row) for _, rows in groups for row in rows]
    datasets = []
    for name, rows in groups:
        mine = {cause_label(row): row.calls for row in rows}
        datasets.append(
            {
                "label": name,
                "data": [mine.get(label) for label in labels],
                "backgroundColor": CATEGORY_COLOURS[name],
            }
        )
    return _json.encode({"type": "bar", "labels": labels, "datasets": datasets}).decode()


def line_chart(buckets: list[KpiBucket], fields: dict[str, str], scale: float = 1.0) -> str:
    """Chart.js data of a line chart: one line per field of ``fields`` (name → label)."""
    labels = [bucket.bucket_start.strftime("%Y-%m-%d %H:%M") for bucket in buckets]
    datasets = []
    for name, label in fields.items():
        values = [getattr(bucket, name) for bucket in buckets]
        data = [None if value is None else round(value * scale, 3) for value in values]
        datasets.append({"label": label, "data": data})
    return _json.encode({"type": "line", "labels": labels, "datasets": datasets}).decode()


@get("/causes", sync_to_thread=True)
def causes_page(request: Request[Any, Any, Any], views: ViewsDep) -> Template:
    """Calls per hangup cause and KPIs over time, for a range and direction."""
    form = Form.of(request.query_params, ("since", "until", "direction", "bucket"))
    since, until = form.time("since"), form.time("until")
    direction = form.choice("direction", DIRECTIONS)
    bucket: Bucket = form.choice("bucket", get_args(Bucket)) or "hour"  # type: ignore[assignment]
    context: dict[str, Any] = {"form": form, "directions": DIRECTIONS, "bucket": bucket}
    if not form.errors:
        view = views.metrics
        rows, total = hangup_causes(view, since, until, direction)
        buckets, overall = kpi_buckets(view, since, until, direction, bucket, 1)
        groups = by_category(rows)
        context |= {
            "groups": groups,
            "total": total,
            "buckets": buckets,
            "overall": overall,
            "colours": CATEGORY_COLOURS,
            "label": cause_label,
            "causes_chart": causes_chart(groups),
            "ratio_chart": line_chart(buckets, {"asr": "ASR %", "ner": "NER %"}, 100),
            "acd_chart": line_chart(buckets, {"acd": "ACD (s)"}),
            "pdd_chart": line_chart(buckets, {"pdd_p50": "PDD p50 (s)", "pdd_p95": "PDD p95 (s)"}),
        }
    return Template("causes.html.j2", context=context, status_code=400 if form.errors else 200)
