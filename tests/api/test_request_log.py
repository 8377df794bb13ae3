"""One JSON log line per request, reads and rejections included, with its request id."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from service.logs import JsonFormatter
from tests.api.conftest import settings_for
from tests.api.payloads import ANSWERED_OUTBOUND_HANGUP
from tests.plivo_client import PlivoSender

KEY = "read-key-1"


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient[Litestar]]:
    with TestClient(app=create_app(settings_for(sqlite_url, API_KEYS=KEY))) as test_client:
        yield test_client


def lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The request log's records as the process writes them: JSON objects."""
    formatter = JsonFormatter()
    records = [r for r in caplog.records if r.name == "calltrail.access"]
    return [json.loads(formatter.format(record)) for record in records]


def test_a_webhook_logs_what_it_recorded(
    client: TestClient[Litestar], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="calltrail.access"):
        reply = PlivoSender(client).send("/plivo/hangup", ANSWERED_OUTBOUND_HANGUP)
    (line,) = lines(caplog)
    assert line["level"] == "info"
    assert line["time"].endswith("+00:00")
    assert (line["method"], line["path"], line["status"]) == ("POST", "/plivo/hangup", 200)
    assert (line["kind"], line["verdict"]) == ("hangup", "advanced")
    assert line["position"] == int(reply.headers["x-calltrail-position"])
    assert line["call_uuid"] == ANSWERED_OUTBOUND_HANGUP["CallUUID"]
    assert line["request_id"] == reply.headers["x-request-id"]
    assert line["duration_ms"] >= 0


def test_reads_and_rejections_are_logged_with_the_key_id_never_the_key(
    client: TestClient[Litestar], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="calltrail.access"):
        client.get("/v1/calls", headers={"Authorization": f"Bearer {KEY}"})
        client.get("/v1/calls", headers={"Authorization": "Bearer wrong-key"})
        client.post("/plivo/ring", content=b"CallUUID=a", headers={"Content-Type": "text/plain"})
        client.post("/plivo/ring", data={"CallUUID": "a"})  # form, unsigned
    read, refused, unsupported, unsigned = lines(caplog)
    assert (read["path"], read["status"]) == ("/v1/calls", 200)
    assert read["key_id"] == hashlib.sha256(KEY.encode()).hexdigest()[:12]
    assert refused["status"] == 401
    assert refused["key_id"] != read["key_id"]
    assert unsupported["status"] == 415
    assert unsigned["status"] == 403
    assert KEY not in caplog.text
    assert "wrong-key" not in caplog.text


@pytest.mark.parametrize("path", ["/healthz", "/plivo/hangup"])
def test_a_sane_request_id_is_kept_and_any_other_replaced(
    client: TestClient[Litestar], path: str
) -> None:
    sender = PlivoSender(client)
    payload = ANSWERED_OUTBOUND_HANGUP

    def send(request_id: str) -> str:
        headers = {"X-Request-ID": request_id}
        if path == "/healthz":
            return client.get(path, headers=headers).headers["x-request-id"]
        return sender.send(path, payload, headers=headers).headers["x-request-id"]

    assert send("req-42.a:b/c") == "req-42.a:b/c"
    for insane in ("has space", "x" * 129, "semi;colon", ""):
        generated = send(insane)
        assert generated != insane
        assert len(generated) == 32
        int(generated, 16)
