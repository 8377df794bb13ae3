"""The fake Call API over real HTTP: credentials, filters, windows, pages and faults."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from simulator.plivo_account import Faults, picked
from simulator.plivo_api import PlivoCallApi
from simulator.plivo_records import end_of
from tests.call_api import AUTH_ID, AUTH_TOKEN, NOW, serving, simulated

CALLS = simulated(60)


@pytest.fixture
def api() -> Iterator[PlivoCallApi]:
    with serving(CALLS) as served:
        yield served


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(auth=(AUTH_ID, AUTH_TOKEN), timeout=5) as client:
        yield client


def get(http: httpx.Client, api: PlivoCallApi, path: str, **params: Any) -> httpx.Response:
    return http.get(f"{api.url}/v1/Account/{AUTH_ID}/{path}", params=params)


def all_records(api: PlivoCallApi) -> list[dict[str, Any]]:
    return [record for entry in api.account.calls.values() for record in entry.records]


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def test_credentials_are_checked_before_anything_else(api: PlivoCallApi) -> None:
    uuid = CALLS[0].call_uuid
    path = f"/v1/Account/{AUTH_ID}/Call/{uuid}/"
    api.fail_next(503)
    for auth in (None, (AUTH_ID, "wrong"), ("MAOTHERACCOUNT000001", AUTH_TOKEN)):
        answer = httpx.get(api.url + path, auth=auth, timeout=5)
        assert answer.status_code == 401
        assert answer.json()["error"] == "authentication failed"
    other = f"/v1/Account/MAOTHERACCOUNT000001/Call/{uuid}/"
    assert httpx.get(api.url + other, auth=(AUTH_ID, AUTH_TOKEN), timeout=5).status_code == 401
    assert httpx.get(api.url + path, auth=(AUTH_ID, AUTH_TOKEN), timeout=5).status_code == 503


def test_an_end_time_window_holds_the_calls_that_ended_in_it(
    api: PlivoCallApi, http: httpx.Client
) -> None:
    ends = sorted(end_of(record) for record in all_records(api))
    low, high = ends[10], ends[40]
    inside = [e for e in ends if low <= e < high]
    found = get(http, api, "Call/", end_time__gte=utc(low), end_time__lt=utc(high), limit=20)
    meta = found.json()["meta"]
    assert meta["total_count"] == len(inside)
    strict = get(http, api, "Call/", end_time__gt=utc(low), end_time__lte=utc(high))
    assert strict.json()["meta"]["total_count"] == len([e for e in ends if low < e <= high])


def test_without_an_end_time_plivo_searches_the_last_seven_days(http: httpx.Client) -> None:
    with serving(CALLS) as api:
        assert get(http, api, "Call/").json()["meta"]["total_count"] == len(all_records(api))
    later = NOW + timedelta(days=8)
    with PlivoCallApi(CALLS, AUTH_ID, AUTH_TOKEN, clock=lambda: later).start() as api:
        assert get(http, api, "Call/").json()["meta"]["total_count"] == 0


def test_a_range_wider_than_thirty_days_is_refused(api: PlivoCallApi, http: httpx.Client) -> None:
    wide = {"end_time__gte": "2026-09-01 00:00", "end_time__lt": "2026-11-03 00:00"}
    refused = get(http, api, "Call/", **wide)
    assert refused.status_code == 400
    assert "30 days" in refused.json()["error"]
    for bad in ({"end_time__gt": "yesterday"}, {"limit": 21}, {"offset": -1}, {"limit": "x"}):
        assert get(http, api, "Call/", **bad).status_code == 400, bad
    only_lower = get(http, api, "Call/", end_time__gte="2026-09-01 00:00")
    assert only_lower.json()["meta"]["total_count"] == 0  # 30 days from September 1st


def test_a_b_leg_filter_finds_the_legs_of_one_call(api: PlivoCallApi, http: httpx.Client) -> None:
    dialled = next(e for e in api.account.calls.values() if len(e.records) > 2)
    found = get(http, api, "Call/", parent_call_uuid=dialled.call.call_uuid).json()["objects"]
    assert sorted(r["call_uuid"] for r in found) == sorted(
        r["call_uuid"] for r in dialled.records[1:]
    )


def test_pages_follow_meta_next_newest_first(api: PlivoCallApi, http: httpx.Client) -> None:
    for cursors in (False, True):
        api.cursors = cursors
        seen: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 7, "call_direction": "outbound"}
        while True:
            page = get(http, api, "Call/", **params).json()
            seen += page["objects"]
            if not page["meta"]["next"]:
                break
            params = dict(parse_qsl(urlsplit(page["meta"]["next"]).query))
            assert params["call_direction"] == "outbound"
            assert ("cursor" in params) is cursors
        outbound = [r for r in all_records(api) if r["call_direction"] == "outbound"]
        assert len(seen) == len(outbound) == len({r["call_uuid"] for r in seen})
        ends = [end_of(record) for record in seen]
        assert ends == sorted(ends, reverse=True)


def test_an_unwritten_record_is_found_after_its_first_lookups(
    api: PlivoCallApi, http: httpx.Client
) -> None:
    uuid = CALLS[3].call_uuid
    api.account.unwritten(uuid, lookups=2)
    assert get(http, api, f"Call/{uuid}/").status_code == 404
    listed = get(http, api, "Call/", limit=20, call_direction=CALLS[3].direction)
    assert uuid not in {r["call_uuid"] for r in listed.json()["objects"]}  # the second lookup
    assert get(http, api, f"Call/{uuid}/").json()["call_uuid"] == uuid


def test_a_live_call_has_no_record_until_it_ends(api: PlivoCallApi, http: httpx.Client) -> None:
    uuid = CALLS[4].call_uuid
    api.account.live(uuid, lookups=3)
    assert get(http, api, "Call/", status="live").json()["calls"] == [uuid]
    assert get(http, api, f"Call/{uuid}/", status="live").json()["call_uuid"] == uuid
    assert get(http, api, f"Call/{uuid}/").status_code == 404
    assert get(http, api, f"Call/{uuid}/", status="live").status_code == 404
    assert get(http, api, "Call/", status="live").json()["calls"] == []
    assert get(http, api, f"Call/{uuid}/").status_code == 200


def test_a_conflicting_record_disagrees_with_the_webhooks(
    api: PlivoCallApi, http: httpx.Client
) -> None:
    call = CALLS[5]
    api.account.conflict(call.call_uuid)
    record = get(http, api, f"Call/{call.call_uuid}/").json()
    assert record["hangup_cause_code"] != int(call.cause_code)
    assert record["hangup_cause_code"] in (3000, 3010)


def test_queued_and_periodic_failures(http: httpx.Client) -> None:
    faults = Faults(throttle_every=3, retry_after=2, error_every=5)
    with serving(CALLS, faults=faults) as api:
        api.fail_next(429, retry_after=7)
        first = get(http, api, f"Call/{CALLS[0].call_uuid}/")
        assert (first.status_code, first.headers["Retry-After"]) == (429, "7")
        statuses = [get(http, api, f"Call/{CALLS[0].call_uuid}/").status_code for _ in range(9)]
    assert statuses == [200, 429, 200, 503, 429, 200, 200, 429, 503]


def test_shares_pick_the_same_calls_every_time() -> None:
    faults = Faults.parse("unwritten=0.5,lookups=2,conflict=0.25")
    assert (faults.unwritten_share, faults.unwritten_lookups, faults.conflict_share) == (
        0.5,
        2,
        0.25,
    )
    with serving(CALLS, faults=faults) as api:
        hidden = {uuid for uuid, entry in api.account.calls.items() if entry.hidden == 2}
        conflicts = {uuid for uuid, entry in api.account.calls.items() if entry.conflict}
    assert hidden == {c.call_uuid for c in CALLS if picked(c.call_uuid, 0.5, "unwritten")}
    assert 15 < len(hidden) < 45
    assert 5 < len(conflicts) < 25
    for bad in ("unwritten=2", "throttle=x", "typo=1", "errors=-1"):
        with pytest.raises(ValueError, match=r"unwritten=2|throttle|typo|errors"):
            Faults.parse(bad)
