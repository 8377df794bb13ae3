"""Health, readiness and Prometheus metrics, parsed with prometheus_client's own parser."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from domain.status import CallStatus
from service.bootstrap import Services
from tests.api.conftest import METRICS_KEY, READ_KEY, settings_for
from tests.factories import outbound
from tests.plivo_client import PlivoSender


def samples(client: TestClient[Litestar]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_KEY}"})
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
    labels = (("direction", "outbound"), ("hangup_cause_code", "3010"), ("status", "busy"))
    assert found["calltrail_calls_total", labels] == 1.0
    assert found["calltrail_calls_answered_total", labels] == 0.0
    assert found["calltrail_projection_lag_events", (("view", "metrics"),)] == 0.0
    assert found["calltrail_writer_batch_size_count", ()] >= 2
    assert any(name.startswith("calltrail_http") for name, _ in found)


def test_metrics_need_the_scrape_key(client: TestClient[Litestar]) -> None:
    for headers in ({}, {"Authorization": f"Bearer {READ_KEY}"}, {"Authorization": "Bearer x"}):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert refused.json()["error"] == "unauthorized"


def test_without_a_scrape_key_metrics_take_a_read_key(database_url: str) -> None:
    app = create_app(settings_for(database_url, METRICS_KEY=""))
    with TestClient(app=app) as client:
        assert client.get("/metrics").status_code == 401
        read = client.get("/metrics", headers={"Authorization": f"Bearer {READ_KEY}"})
        assert read.status_code == 200
