"""The plivo SDK's own client, on calltrail's transport, against the fake Call API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from service.plivo_calls import CallApi, CallApiAuthError, CallApiOptions, CallApiUnavailableError
from simulator.plivo_api import PlivoCallApi
from tests.call_api import AUTH_TOKEN, NOW, START, client, serving, simulated

CALLS = simulated(80, seed=23)
DAY = (START - timedelta(hours=1), NOW)


@pytest.fixture
def api() -> Iterator[PlivoCallApi]:
    with serving(CALLS) as served:
        yield served


def test_a_call_is_found_verbatim(api: PlivoCallApi) -> None:
    uuid = CALLS[0].call_uuid
    with client(api) as calls:
        record = calls.lookup(uuid)
        assert calls.stats.requests == 1
    assert record == api.account.calls[uuid].records[0]  # without the response's api_id


def test_a_record_not_written_yet_is_none_then_found(api: PlivoCallApi) -> None:
    uuid = CALLS[1].call_uuid
    api.account.unwritten(uuid, lookups=2)
    with client(api) as calls:
        assert calls.lookup(uuid) is None
        assert calls.lookup(uuid) is None
        found = calls.lookup(uuid)
        assert found is not None
        assert found["call_uuid"] == uuid
        assert calls.stats.requests == 3
        assert calls.stats.retries == 0


def test_a_429_is_retried_after_its_retry_after(api: PlivoCallApi) -> None:
    api.fail_next(429, retry_after=1)
    with client(api) as calls:
        assert calls.lookup(CALLS[2].call_uuid) is not None
        assert calls.stats.statuses == {429: 1, 200: 1}
        assert calls.stats.waited >= 1.0
    throttled, retried = api.served
    assert throttled.status == 429
    assert retried.status == 200
    assert retried.at - throttled.at >= 1.0


def test_5xx_answers_are_retried_with_backoff_and_the_sdk_never_resends(
    api: PlivoCallApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.fail_next(503, count=2)
    api.fail_next(500)
    api.fail_next(502)
    with client(api) as calls:
        assert calls.lookup(CALLS[3].call_uuid) is not None
        assert calls.stats.requests == 5
        assert calls.stats.retries == 4
    assert [served.status for served in api.served] == [503, 503, 500, 502, 200]
    assert capsys.readouterr().out == ""  # the SDK prints "Fallback for URL" when it resends


def test_retries_give_up_with_a_clear_error(api: PlivoCallApi) -> None:
    api.fail_next(503, count=3)
    with client(api, retries=2) as calls, pytest.raises(CallApiUnavailableError) as failed:
        calls.lookup(CALLS[4].call_uuid)
    assert "failed 3 times in a row (HTTP 503)" in str(failed.value)
    assert len(api.served) == 3
    api.fail_next(429, retry_after=3600)
    with client(api, max_wait=60) as calls, pytest.raises(CallApiUnavailableError) as waited:
        calls.lookup(CALLS[4].call_uuid)
    assert "asked to wait 3600 s" in str(waited.value)


def test_a_server_that_is_down_is_retried_then_reported() -> None:
    with serving(CALLS) as api, client(api, retries=1) as calls:
        api.stop()
        with pytest.raises(CallApiUnavailableError, match="ConnectionError"):
            calls.lookup(CALLS[0].call_uuid)
        assert calls.stats.statuses == {0: 2}


def test_a_window_is_listed_across_every_page(api: PlivoCallApi) -> None:
    expected = {r["call_uuid"] for e in api.account.calls.values() for r in e.records}
    assert len(expected) > 100  # several pages of 20
    for cursors in (False, True):
        api.cursors = cursors
        with client(api) as calls:
            listed = list(calls.ended_between(*DAY))
            pages = calls.stats.requests
        assert [r["call_uuid"] for r in listed] == list(dict.fromkeys(expected_in(listed)))
        assert {r["call_uuid"] for r in listed} == expected
        assert pages == -(-len(expected) // 20)


def expected_in(records: list[dict[str, object]]) -> list[str]:
    return [str(record["call_uuid"]) for record in records]


def test_a_long_window_is_asked_for_in_thirty_day_parts(api: PlivoCallApi) -> None:
    with client(api) as calls:
        listed = list(calls.ended_between(START - timedelta(days=45), NOW))
    assert len(listed) == sum(len(e.records) for e in api.account.calls.values())
    windows = {(s.query["end_time__gte"], s.query["end_time__lt"]) for s in api.served}
    assert windows == {
        ("2026-09-18 08:00:00", "2026-10-18 08:00:00"),
        ("2026-10-18 08:00:00", "2026-11-03 08:00:00"),
    }


def test_wrong_credentials_stop_with_the_settings_to_check(api: PlivoCallApi) -> None:
    with client(api, token="not-the-token") as calls, pytest.raises(CallApiAuthError) as refused:
        calls.lookup(CALLS[0].call_uuid)
    assert "CALLTRAIL_PLIVO_AUTH_TOKEN" in str(refused.value)
    assert "not-the-token" not in str(refused.value)
    assert [served.status for served in api.served] == [401]  # a 401 is not retried
    with pytest.raises(CallApiAuthError, match="Invalid auth_id"):
        CallApi(CallApiOptions("MA123", AUTH_TOKEN, api.url))


def test_a_conflicting_record_is_returned_as_plivo_gives_it(api: PlivoCallApi) -> None:
    call = CALLS[5]
    api.account.conflict(call.call_uuid)
    with client(api) as calls:
        record = calls.lookup(call.call_uuid)
        listed = {r["call_uuid"]: r for r in calls.ended_between(*DAY)}
    assert record is not None
    assert record["hangup_cause_code"] != int(call.cause_code)
    assert listed[call.call_uuid] == record


def test_a_live_call_is_seen_live_until_it_ends(api: PlivoCallApi) -> None:
    uuid = CALLS[6].call_uuid
    api.account.live(uuid, lookups=3)
    with client(api) as calls:
        assert calls.live_ids() == {uuid}
        assert calls.is_live(uuid)
        assert calls.lookup(uuid) is None
        assert not calls.is_live(uuid)
        assert calls.lookup(uuid) is not None


def test_requests_are_paced_to_the_rate(api: PlivoCallApi) -> None:
    with client(api, rate=20.0) as calls:
        began = time.monotonic()
        for call in CALLS[:6]:
            calls.lookup(call.call_uuid)
        elapsed = time.monotonic() - began
    assert elapsed >= 5 / 20.0  # six requests: five intervals at the least


def test_the_token_is_never_logged_nor_printed(
    api: PlivoCallApi, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level("DEBUG")
    api.fail_next(429, retry_after=0)
    api.fail_next(503, count=3)
    with client(api) as calls:
        calls.lookup(CALLS[7].call_uuid)
        list(calls.ended_between(*DAY))
        text = repr(calls.transport.stats) + repr(calls)
    with client(api, token="wrong-" + AUTH_TOKEN) as calls, pytest.raises(CallApiAuthError):
        calls.lookup(CALLS[7].call_uuid)
    printed = capsys.readouterr()
    assert "urllib3" in caplog.text  # the HTTP layer did log at DEBUG
    for output in (caplog.text, printed.out, printed.err, text):
        assert AUTH_TOKEN not in output
