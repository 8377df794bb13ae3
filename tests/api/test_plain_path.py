"""The webhooks' plain ASGI path answers exactly as the Litestar routes do.

Each case is sent, in the same order, to two apps on two fresh stores: one as served
(webhooks on the plain path) and one with the plain path switched off (the Litestar
routes answer everything). Status, body and headers must be equal (the request id
aside), and each app must have stored the same events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
from litestar import Litestar
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.ingest import CalltrailApp
from store.application import open_call_log
from tests.api.conftest import METRICS_KEY, settings_for, stored
from tests.api.payloads import ANSWERED_OUTBOUND_HANGUP, INBOUND_ANSWER
from tests.plivo_client import PlivoSender

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
RING = {"CallUUID": "9f1c2c7e-0000-4000-8000-000000000001", "CallStatus": "ringing"}
Case = Callable[[PlivoSender, TestClient[Litestar]], httpx.Response]


def _chunks(*parts: bytes) -> Iterator[bytes]:
    yield from parts


CASES: dict[str, Case] = {
    "hangup": lambda s, c: s.send("/plivo/hangup", ANSWERED_OUTBOUND_HANGUP),
    "redelivery": lambda s, c: s.send("/plivo/hangup", ANSWERED_OUTBOUND_HANGUP),
    "answer by GET": lambda s, c: s.send("/plivo/answer", INBOUND_ANSWER, method="GET"),
    "tutorial URL": lambda s, c: s.send("/dialstatus/action/", RING),
    "POST with a query": lambda s, c: s.send("/plivo/ring?tenant=x", RING | {"Late": "1"}),
    "charset in the type": lambda s, c: s.send(
        "/plivo/ring", RING, headers={"Content-Type": f"{FORM['Content-Type']}; charset=utf-8"}
    ),
    "no signature": lambda s, c: c.post("/plivo/ring", data=RING, headers=FORM),
    "wrong token": lambda s, c: s.send("/plivo/ring", RING, token="not-the-token"),
    "missing CallUUID": lambda s, c: s.send("/plivo/ring", {"CallStatus": "ringing"}),
    "blank CallUUID": lambda s, c: s.send("/plivo/ring", {"CallUUID": " "}),
    "malformed encoding": lambda s, c: c.post(
        "/plivo/ring", content=b"CallUUID=%ff%fe", headers=FORM
    ),
    "json body": lambda s, c: c.post("/plivo/ring", json=RING),
    "multipart body": lambda s, c: c.post("/plivo/ring", files={"f": b"x"}, data=RING),
    "body over the limit": lambda s, c: s.send("/plivo/ring", RING | {"Pad": "x" * 5000}),
    "chunked body over the limit": lambda s, c: c.post(
        "/plivo/ring", content=_chunks(b"CallUUID=a&Pad=", b"x" * 3000, b"x" * 3000), headers=FORM
    ),
    "chunked body": lambda s, c: c.post(
        "/plivo/ring", content=_chunks(b"CallUUID=a&", b"CallStatus=ringing"), headers=FORM
    ),
    "PUT": lambda s, c: c.put("/plivo/ring", data=RING),
    "HEAD": lambda s, c: c.head("/plivo/ring"),
    "OPTIONS": lambda s, c: c.options("/plivo/ring"),
    "unknown path": lambda s, c: c.post("/plivo/rings", data=RING, headers=FORM),
}


def _client(folder: Path, plain: bool) -> TestClient[Litestar]:
    app = create_app(settings_for(f"sqlite:///{folder / 'calltrail.db'}"))
    assert isinstance(app, CalltrailApp)
    if not plain:
        app.plain = None
    return TestClient(app=app)


def _seen(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k != "x-request-id"}
    return response.status_code, response.content, headers


def test_the_plain_path_answers_as_the_litestar_routes(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "litestar").mkdir()
    with (
        _client(tmp_path / "plain", plain=True) as plain,
        _client(tmp_path / "litestar", plain=False) as routes,
    ):
        for name, case in CASES.items():
            ours = case(PlivoSender(plain), plain)
            theirs = case(PlivoSender(routes), routes)
            assert _seen(ours) == _seen(theirs), name
            assert ours.headers["x-request-id"], name
    assert _stored(tmp_path / "plain") == _stored(tmp_path / "litestar") > 0


def _stored(folder: Path) -> int:
    call_log = open_call_log(f"sqlite:///{folder / 'calltrail.db'}")
    try:
        return stored(call_log)
    finally:
        call_log.close()


def test_webhooks_are_counted_for_prometheus(
    sender: PlivoSender, client: TestClient[Litestar]
) -> None:
    sender.send("/plivo/hangup", ANSWERED_OUTBOUND_HANGUP)
    sender.send("/plivo/hangup", ANSWERED_OUTBOUND_HANGUP)
    sender.send("/plivo/ring", RING, token="not-the-token")
    found = {}
    scrape = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_KEY}"})
    for family in text_string_to_metric_families(scrape.text):
        for sample in family.samples:
            if sample.name == "calltrail_webhooks_total":
                labels = sample.labels
                found[labels["kind"], labels["status"], labels["verdict"]] = sample.value
    assert found == {
        ("hangup", "200", "advanced"): 1.0,
        ("hangup", "200", "duplicate"): 1.0,
        ("ring", "403", ""): 1.0,
    }
