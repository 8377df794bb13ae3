"""Health, readiness and Prometheus metrics, parsed with prometheus_client's own parser."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from domain.status import CallStatus
from service.bootstrap import Services
from tests.factories import outbound
from tests.plivo_client import PlivoSender


def samples(client: TestClient[Litestar]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_health_and_readiness(client: TestClient[Litestar]) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["projection_lag"] == {"timeline": 0, "metrics": 0}


def test_business_metrics_come_from_the_metrics_view(
    client: TestClient[Litestar], sender: PlivoSender, services: Services
) -> None:
    spec = outbound(CallStatus.BUSY)
    position = 0
    for callback in spec.callbacks:
        position = int(sender.deliver(callback).headers["x-calltrail-position"])
    services.views.metrics.wait("CallLog", position, timeout=5)
    found = samples(client)
    labels = (("cause_code", "3010"), ("direction", "outbound"), ("status", "busy"))
    assert found["calltrail_calls_total", labels] == 1.0
    assert found["calltrail_calls_answered_total", labels] == 0.0
    assert found["calltrail_projection_lag_events", (("view", "metrics"),)] == 0.0
    assert found["calltrail_writer_batch_size_count", ()] >= 2
    assert any(name.startswith("calltrail_http") for name, _ in found)
