"""The health page: how far each view is behind the log, the writer's batch sizes, and
the events the views hold in quarantine."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.response import Template

from console.deps import CallLogDep, ObservabilityDep, ViewsDep
from projections.quarantine import counts, entries
from store.application import CallLog


def batch_sizes(observability: Any) -> dict[str, Any]:
    """This process's writer batch-size histogram: count, mean and each bucket's count."""
    samples = [s for metric in observability.batch_size.collect() for s in metric.samples]
    count = next((s.value for s in samples if s.name.endswith("_count")), 0.0)
    total = next((s.value for s in samples if s.name.endswith("_sum")), 0.0)
    cumulative = [(s.labels["le"], s.value) for s in samples if s.name.endswith("_bucket")]
    buckets, before = [], 0.0
    for bound, value in cumulative:
        buckets.append((bound.removesuffix(".0"), int(value - before)))
        before = value
    return {"count": int(count), "mean": total / count if count else None, "buckets": buckets}


def health_context(views: Any, call_log: CallLog, observability: Any) -> dict[str, Any]:
    """What the health page and its refreshing fragment show."""
    head = int(call_log.recorder.max_notification_id() or 0)
    rows = []
    held = []
    for name, view in views.named().items():
        now, ever = counts(view)
        rows.append(
            {"name": name, "position": view.position(CallLog.name), "held": now, "ever": ever}
        )
        held += [(name, entry) for entry in entries(view)] if now else []
    for row in rows:
        row["lag"] = head - row["position"]
    return {"head": head, "views": rows, "batches": batch_sizes(observability), "held": held}


@get("/health", sync_to_thread=True)
def health_page(views: ViewsDep, call_log: CallLogDep, observability: ObservabilityDep) -> Template:
    """The service's health for people: lag, batch sizes, quarantine."""
    return Template("health.html.j2", context=health_context(views, call_log, observability))


@get("/health/status", sync_to_thread=True, opt={"fragment": True})
def health_fragment(
    views: ViewsDep, call_log: CallLogDep, observability: ObservabilityDep
) -> Template:
    """The health page's body, refreshed in place while the page is open."""
    context = health_context(views, call_log, observability)
    return Template("health_body.html.j2", context=context)
