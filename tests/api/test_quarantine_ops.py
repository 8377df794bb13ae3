"""An event held in quarantine is loud: an ERROR line, /readyz 503 with the count, and
Prometheus figures read from the views; a retry after the fix makes the service ready."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from litestar import Litestar
from litestar.testing import TestClient

from domain.call import Call
from domain.ids import call_id
from domain.status import CallStatus
from projections.retry import retry
from service.bootstrap import Services
from tests.api.test_observability import samples
from tests.factories import outbound
from tests.poison import insert, known_as, renamed, stored_events, unknown_topic


class ErrorLines(logging.Handler):
    """The ERROR lines of a logger, and an event set once ``count`` have come (the
    runner logs from its own thread, after its commit)."""

    def __init__(self, count: int) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []
        self.count = count
        self.arrived = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        if len(self.lines) >= self.count:
            self.arrived.set()


@contextlib.contextmanager
def error_lines(count: int) -> Iterator[ErrorLines]:
    handler = ErrorLines(count)
    logger = logging.getLogger("calltrail.projections")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def test_a_held_event_is_logged_at_error_counted_and_makes_the_service_unready(
    client: TestClient[Litestar], services: Services
) -> None:
    spec = outbound(CallStatus.BUSY)
    topic = unknown_topic()
    events = stored_events(services.call_log, spec)
    events[-1] = renamed(events[-1], topic)
    with error_lines(count=2) as errors:
        position = insert(services.call_log, events)[-1]
        assert services.runner is not None
        services.runner.wake.set()
        assert errors.arrived.wait(timeout=10), errors.lines
    for name in ("timeline", "metrics"):
        assert any(
            f"event {position} of call {call_id(spec.call_uuid)}" in line
            and f"by the {name} view" in line
            and topic in line
            for line in errors.lines
        ), errors.lines
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["quarantined"] == {"timeline": 1, "metrics": 1}
    assert "calltrail quarantine list" in ready.json()["reason"]
    found = samples(client)
    for name in ("timeline", "metrics"):
        assert found["calltrail_events_in_quarantine", (("view", name),)] == 1.0
        assert found["calltrail_quarantined_events_total", (("view", name),)] == 1.0
    with known_as(topic, Call.Ended):
        for view in services.views.named().values():
            assert retry(services.call_log, view).applied == [position]
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["quarantined"] == {"timeline": 0, "metrics": 0}
    found = samples(client)
    assert found["calltrail_events_in_quarantine", (("view", "timeline"),)] == 0.0
    assert found["calltrail_quarantined_events_total", (("view", "timeline"),)] == 1.0
