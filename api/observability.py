"""Operations: ``/healthz``, ``/readyz`` and Prometheus ``/metrics``.

HTTP metrics come from Litestar's Prometheus plugin, except for the webhooks, which skip
Litestar (``api/ingest.py``) and are counted by kind, status and verdict in a plain
counter read at scrape time. Business metrics and the views' quarantine are read from the
views at scrape time, so they survive restarts and agree across workers; the webhook
counts and the writer's batch sizes and commit latency are this process's own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import SkipValidation
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Histogram
from prometheus_client import generate_latest as prometheus_text
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from api.dependencies import ServicesDep
from domain.hangup_causes import integer_code
from projections.open_calls import count_open, count_reconciled
from projections.quarantine import counts as quarantine_counts
from service.bootstrap import Services
from store.application import CallLog
from store.writer import BatchStats

READY_MAX_LAG = 10_000
PROMETHEUS = PrometheusConfig(app_name="calltrail", prefix="calltrail_http", group_path=True)


class ViewCollector(Collector):
    """Business metrics, read from the metrics view and the log head at each scrape."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        """Calls, answered calls and talk time by direction, status and cause; view lag."""
        labels = ["direction", "status", "hangup_cause_code"]
        calls = CounterMetricFamily("calltrail_calls", "Ended calls", labels=labels)
        answered = CounterMetricFamily("calltrail_calls_answered", "Answered calls", labels=labels)
        talk = CounterMetricFamily("calltrail_talk_seconds", "Talk time (Duration)", labels=labels)
        rows = self.services.views.metrics.rows(
            "SELECT direction, status, cause_code, SUM(calls) AS calls, SUM(answered) AS answered,"
            " SUM(talk_seconds) AS talk FROM {p}counters WHERE scope = 'call'"
            " GROUP BY direction, status, cause_code ORDER BY direction, status, cause_code"
        )
        summed: dict[tuple[str, str, str], list[float]] = {}
        for row in rows:
            code = integer_code(row["cause_code"])
            key = (row["direction"], row["status"], "" if code is None else str(code))
            total = summed.setdefault(key, [0.0, 0.0, 0.0])
            total[0] += float(row["calls"])  # PostgreSQL's SUM is a Decimal
            total[1] += float(row["answered"])
            total[2] += float(row["talk"])
        for key, (ended, picked_up, seconds) in summed.items():
            calls.add_metric(list(key), ended)
            answered.add_metric(list(key), picked_up)
            talk.add_metric(list(key), seconds)
        yield from (calls, answered, talk)
        lag = GaugeMetricFamily(
            "calltrail_projection_lag_events", "Events not yet in a view", labels=["view"]
        )
        for name, lagging in projection_lag(self.services).items():
            lag.add_metric([name], float(lagging))
        yield lag
        yield from quarantine_metrics(self.services)
        yield from reconcile_metrics(self.services)


def reconcile_metrics(services: Services) -> Iterator[Metric]:
    """Calls a Call API record ended, and calls open past the reconcile threshold (read
    from the timeline view: the same in every worker, whichever process reconciled)."""
    timeline = services.views.timeline
    reconciled = CounterMetricFamily(
        "calltrail_calls_reconciled",
        "Calls completed or added by reconciliation with Plivo's Call API",
    )
    reconciled.add_metric([], float(count_reconciled(timeline)))
    threshold = timedelta(seconds=services.settings.reconcile_older_than)
    still_open = GaugeMetricFamily(
        "calltrail_calls_open_past_threshold",
        "Calls with no final status whose latest callback is older than"
        " CALLTRAIL_RECONCILE_OLDER_THAN",
    )
    still_open.add_metric([], float(count_open(timeline, datetime.now(UTC) - threshold)))
    yield from (reconciled, still_open)


def quarantine_metrics(services: Services) -> Iterator[Metric]:
    """Events each view holds in quarantine now, and has ever held (read from the views,
    so every worker reports the same and a restart loses nothing)."""
    held = GaugeMetricFamily(
        "calltrail_events_in_quarantine",
        "Events a view could not apply and holds (calltrail quarantine list)",
        labels=["view"],
    )
    total = CounterMetricFamily(
        "calltrail_quarantined_events",
        "Events ever put in a view's quarantine (reset by a rebuild of the view)",
        labels=["view"],
    )
    for name, view in services.views.named().items():
        now, ever = quarantine_counts(view)
        held.add_metric([name], float(now))
        total.add_metric([name], float(ever))
    yield from (held, total)


def projection_lag(services: Services) -> dict[str, int]:
    """How many logged events each view has yet to apply."""
    head = int(services.call_log.recorder.max_notification_id() or 0)
    return {
        name: head - view.position(CallLog.name) for name, view in services.views.named().items()
    }


class WebhookCollector(Collector):
    """``calltrail_webhooks_total``: the webhooks this process answered."""

    def __init__(self, counts: Counter[tuple[str, int, str]]) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        """One sample per kind, status and verdict (empty for a rejection)."""
        family = CounterMetricFamily(
            "calltrail_webhooks", "Webhooks answered", labels=["kind", "status", "verdict"]
        )
        for (kind, status, verdict), count in sorted(self.counts.copy().items()):
            family.add_metric([kind, str(status), verdict], float(count))
        yield family


class Observability:
    """This app's own registry: the view and webhook collectors, the writer's histograms."""

    def __init__(self, services: Services, webhooks: Counter[tuple[str, int, str]]) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(ViewCollector(services))
        self.registry.register(WebhookCollector(webhooks))
        self.batch_size = Histogram(
            "calltrail_writer_batch_size",
            "Callbacks per group commit",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
            registry=self.registry,
        )
        self.commit_seconds = Histogram(
            "calltrail_writer_commit_seconds", "Group commit latency", registry=self.registry
        )

    def observe(self, stats: BatchStats) -> None:
        """Record one committed batch."""
        self.batch_size.observe(stats.size)
        self.commit_seconds.observe(stats.seconds)


ObservabilityDep = NamedDependency[SkipValidation[Observability]]


class MetricsController(PrometheusController):
    """``/metrics``: Litestar's HTTP metrics, then calltrail's own (a bearer key needed:
    the router it is mounted on guards it)."""

    @get(
        tags=["service"],
        summary="Prometheus metrics",
        description="Calls, answered calls and talk time by direction, status and hangup"
        " cause code; the views' lag and the events they hold in quarantine; calls"
        " reconciled with Plivo's Call API and calls open past its threshold; the writer's"
        " batch sizes and commit latency; HTTP"
        " metrics. Needs CALLTRAIL_METRICS_KEY as a bearer token (or, when it is not set,"
        " a key of CALLTRAIL_API_KEYS).",
    )
    async def get(self, observability: ObservabilityDep) -> Response[bytes]:
        """Prometheus text format."""
        body = prometheus_text(REGISTRY) + prometheus_text(observability.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)


@get("/readyz", sync_to_thread=True, tags=["service"], summary="Readiness")
def readyz(services: ServicesDep) -> Response[dict[str, Any]]:
    """Ready when the store answers, no view lags by more than ``READY_MAX_LAG`` events,
    and no view holds an event in quarantine (``calltrail quarantine list``)."""
    try:
        lag = projection_lag(services)
        held = {name: quarantine_counts(view)[0] for name, view in services.views.named().items()}
    except Exception as error:
        return Response({"ready": False, "reason": f"store unreachable: {error}"}, status_code=503)
    ready = all(lagging <= READY_MAX_LAG for lagging in lag.values()) and not any(held.values())
    body: dict[str, Any] = {
        "ready": ready,
        "projection_lag": lag,
        "max_lag": READY_MAX_LAG,
        "quarantined": held,
    }
    if any(held.values()):
        body["reason"] = "events in quarantine: see `calltrail quarantine list`"
    return Response(body, status_code=200 if ready else 503)
