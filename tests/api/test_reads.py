"""The read API over real HTTP: auth, read-your-writes, filters, pagination, metrics, events."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest
from eventsourcing.persistence import StoredEvent
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from domain.status import CallStatus
from store.application import open_call_log
from tests.api.conftest import settings_for
from tests.factories import CallSpec, inbound, outbound
from tests.plivo_client import PlivoSender

KEY = "read-key-1"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def client(database_url: str) -> Any:
    app = create_app(settings_for(database_url, API_KEYS=f"{KEY},read-key-2"))
    with TestClient(app=app) as test_client:
        yield test_client


def deliver(client: TestClient[Litestar], specs: list[CallSpec]) -> int:
    """Send every callback of ``specs``; return the highest acknowledged position."""
    sender = PlivoSender(client)
    positions = [0]
    for spec in specs:
        for callback in spec.callbacks:
            response = sender.deliver(callback)
            assert response.status_code == 200
            positions.append(int(response.headers.get("x-calltrail-position", 0)))
    return max(positions)


def read(client: TestClient[Litestar], path: str, **params: Any) -> httpx.Response:
    return client.get(path, params=params, headers=AUTH)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": KEY}, {"Authorization": "Basic x"}],
)
def test_reads_need_a_configured_bearer_key(
    client: TestClient[Litestar], headers: dict[str, str]
) -> None:
    response = client.get("/v1/calls", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]


def test_every_configured_key_works(client: TestClient[Litestar]) -> None:
    second = {"Authorization": "Bearer read-key-2"}
    assert client.get("/v1/calls", headers=second).status_code == 200


def test_a_client_reads_its_own_write_without_sleeping(client: TestClient[Litestar]) -> None:
    spec = outbound(CallStatus.COMPLETED, talk=66)
    position = deliver(client, [spec])
    body = read(client, f"/v1/calls/{spec.call_uuid}", min_position=position).json()
    assert body["position"] >= position
    call = body["call"]
    assert (call["status"], call["answered"], call["hangup_cause_code"]) == (
        "completed",
        True,
        4000,
    )
    assert call["duration"] == 66
    assert [leg["answered"] for leg in call["legs"]] == [True]


def test_the_timeline_lists_every_callback_with_its_verdict(client: TestClient[Litestar]) -> None:
    spec = outbound(CallStatus.BUSY)
    ring, hangup = spec.callbacks
    sender = PlivoSender(client)
    sender.deliver(hangup)
    last = sender.deliver(ring)  # late
    position = int(last.headers["x-calltrail-position"])
    body = read(client, f"/v1/calls/{spec.call_uuid}/timeline", min_position=position).json()
    assert [(e["kind"], e["verdict"]) for e in body["entries"]] == [
        ("hangup", "advanced"),
        ("ring", "late"),
    ]
    assert body["entries"][0]["params"]["HangupCauseCode"] == "3010"
    assert body["call"]["late"] == 1


def test_filters_and_cursor_pagination(client: TestClient[Litestar]) -> None:
    specs = [outbound(CallStatus.BUSY) for _ in range(5)] + [inbound(answered=True)]
    position = deliver(client, specs)
    seen: list[str] = []
    cursor: dict[str, str] = {}
    while True:
        page = read(
            client, "/v1/calls", status="busy", limit=2, min_position=position, **cursor
        ).json()
        seen += [item["call_uuid"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = {"cursor": page["next_cursor"]}
    assert seen == [spec.call_uuid for spec in specs[:5]]
    inbound_calls = read(client, "/v1/calls", direction="inbound").json()["items"]
    assert [c["call_uuid"] for c in inbound_calls] == [specs[-1].call_uuid]


def test_hangup_causes_and_kpis(client: TestClient[Litestar]) -> None:
    specs = [outbound(CallStatus.COMPLETED), outbound(CallStatus.BUSY), outbound(CallStatus.FAILED)]
    position = deliver(client, specs)
    causes = read(client, "/v1/metrics/hangup-causes", min_position=position).json()
    assert causes["total"] == 3
    assert {r["hangup_cause_code"]: r["calls"] for r in causes["rows"]} == {
        4000: 1,
        3010: 1,
        2000: 1,
    }
    assert sum(r["share"] for r in causes["rows"]) == pytest.approx(1.0)
    kpis = read(client, "/v1/metrics/kpis", bucket="day").json()["total"]
    assert (kpis["attempts"], kpis["answered"]) == (3, 1)
    assert kpis["asr"] == pytest.approx(1 / 3)
    assert kpis["ner"] == pytest.approx(2 / 3)
    assert kpis["acd"] == 66.0


def test_the_raw_event_stream_pages_through_the_log(client: TestClient[Litestar]) -> None:
    spec = outbound(CallStatus.COMPLETED)
    position = deliver(client, [spec])
    first = read(client, "/v1/events", limit=3).json()
    assert [e["position"] for e in first["items"]] == [1, 2, 3]
    rest = read(client, "/v1/events", after=first["next_after"]).json()
    assert rest["items"][-1]["position"] == position == rest["position"]
    assert first["items"][0]["topic"].endswith("Call.Registered")


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/v1/calls", {"limit": "0"}, "limit"),
        ("/v1/calls", {"since": "yesterday"}, "since"),
        ("/v1/calls", {"cursor": "-1"}, "cursor"),
        ("/v1/metrics/kpis", {"bucket": "week"}, "bucket"),
        ("/v1/events", {"after": "x"}, "after"),
        # Well formed, but outside what UTC can express once converted.
        *(
            (path, {name: value}, name)
            for path in ("/v1/calls", "/v1/metrics/kpis", "/v1/metrics/hangup-causes")
            for name, value in (
                ("since", "0001-01-01T00:00:00+05:00"),
                ("until", "9999-12-31T23:59:59-05:00"),
            )
        ),
        # A NUL character, which no view can compare (PostgreSQL refuses it).
        ("/v1/calls", {"status": "\x00"}, "status"),
        ("/v1/calls", {"from": "+1\x00"}, "from"),
        ("/v1/metrics/kpis", {"direction": "in\x00"}, "direction"),
        ("/v1/metrics/hangup-causes", {"direction": "\x00"}, "direction"),
        ("/v1/calls/a%00b", {}, "call_uuid"),
        ("/v1/calls/a%00b/timeline", {}, "call_uuid"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(
    client: TestClient[Litestar], path: str, params: dict[str, str], named: str
) -> None:
    response = client.get(path, params=params, headers=AUTH)
    assert response.status_code == 400
    assert named in response.text


def test_the_ends_of_the_time_range_select_every_call(client: TestClient[Litestar]) -> None:
    position = deliver(client, [outbound(CallStatus.BUSY)])
    ends = {"since": "0001-01-01T00:00:00Z", "until": "9999-12-31T23:30:00Z"}
    calls = read(client, "/v1/calls", min_position=position, **ends)
    kpis = read(client, "/v1/metrics/kpis", min_position=position, **ends)
    causes = read(client, "/v1/metrics/hangup-causes", min_position=position, **ends)
    assert [r.status_code for r in (calls, kpis, causes)] == [200, 200, 200], causes.text
    assert len(calls.json()["items"]) == 1
    assert kpis.json()["total"]["attempts"] == causes.json()["total"] == 1


def test_an_unknown_call_is_a_404(client: TestClient[Litestar]) -> None:
    assert read(client, "/v1/calls/no-such-call").status_code == 404
    assert read(client, "/v1/calls/no-such-call/timeline").status_code == 404


def test_numbers_can_be_masked(sqlite_url: str) -> None:
    app = create_app(settings_for(sqlite_url, API_KEYS=KEY, MASK_NUMBERS="1"))
    with TestClient(app=app) as client:
        spec = outbound(CallStatus.BUSY)
        position = deliver(client, [spec])
        call = read(client, f"/v1/calls/{spec.call_uuid}", min_position=position).json()["call"]
        assert call["to_number"] == "••••••••0123"  # +14155550123
        entries = read(client, f"/v1/calls/{spec.call_uuid}/timeline").json()["entries"]
        assert entries[0]["params"]["To"].endswith("0123")
        assert "14155550123" not in str(entries)


def test_the_openapi_schema_is_served(client: TestClient[Litestar]) -> None:
    schema = client.get("/schema/openapi.json").json()
    assert "/v1/calls/{call_uuid}/timeline" in schema["paths"]


DAMAGED_STATES = [
    b"not json at all",
    b'{"timestamp": "2026-03-01T08:00:00+00:00", "params": {"From": "\\ud800"}}',
    b'{"timestamp": "2026-03-01T08:00:00+00:00", "x": "\xff\xfe"}',
    b'["a list", "not an object"]',
    b'{"timestamp": "not a time"}',
]


def test_damaged_stored_states_are_read_not_a_500(
    client: TestClient[Litestar], database_url: str
) -> None:
    """A stored state that is not JSON, holds a lone surrogate or bytes that are not UTF-8
    (a damaged or foreign row) is given as readable as it is, never fails the page."""
    deliver(client, [outbound(CallStatus.BUSY)])
    log = open_call_log(database_url)
    try:
        topic = "domain.call:Call.CallbackRecorded"
        log.recorder.insert_events(
            [StoredEvent(uuid4(), 1, topic, state) for state in DAMAGED_STATES]
        )
    finally:
        log.close()
    response = read(client, "/v1/events", limit=1000)
    assert response.status_code == 200, response.text
    damaged = response.json()["items"][-len(DAMAGED_STATES) :]
    assert damaged[0]["state"] == {"unreadable_state": "not json at all"}
    assert damaged[0]["occurred_at"] is None
    assert damaged[1]["state"]["params"] == {"From": "\ufffd"}
    assert damaged[1]["occurred_at"] == "2026-03-01T08:00:00Z"
    assert damaged[2]["state"] == {
        "unreadable_state": '{"timestamp": "2026-03-01T08:00:00+00:00", "x": "\\xff\\xfe"}'
    }
    assert damaged[3]["state"] == {"unreadable_state": '["a list", "not an object"]'}
    assert damaged[4]["state"] == {"timestamp": "not a time"}
    assert damaged[4]["occurred_at"] is None
