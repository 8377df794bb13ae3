"""What the console's pages show: the calls and their filters, a call's drawn timeline,
its JSON, masking, the causes page's numbers, and bad input as a page, never a 500."""

from __future__ import annotations

import re
from html import unescape

from litestar import Litestar
from litestar.testing import TestClient

from domain.callbacks import CallbackKind
from domain.status import CallStatus
from store.application import open_call_log
from tests.api.conftest import READ_KEY
from tests.console.conftest import deliver, open_client, sign_in, wait_for
from tests.factories import CallSpec, inbound, other_outcome, outbound
from tests.plivo_client import PATHS, PlivoSender
from tests.records import read, record_of

AUTH = {"Authorization": f"Bearer {READ_KEY}"}


def reordered_and_conflicting(client: TestClient[Litestar]) -> tuple[CallSpec, CallSpec]:
    """An answered outbound call whose hangup arrives first, and a busy call that then
    reports a second, different end; both recorded."""
    late = outbound(CallStatus.COMPLETED, losers=1)
    late.callbacks = [late.callbacks[-1], *late.callbacks[:-1]]
    conflicting = outbound(CallStatus.BUSY)
    conflicting.callbacks.append(other_outcome(conflicting, CallStatus.NO_ANSWER, 0))
    wait_for(client, deliver(client, [late, conflicting]))
    return late, conflicting


def marks(html: str) -> list[str]:
    """The verdicts of the timeline's marks, in arrival order."""
    return re.findall(r'<a class="mark verdict-([a-z]+)"', html)


def test_the_call_page_draws_every_callback_with_its_verdict(
    signed_in: TestClient[Litestar],
) -> None:
    late, conflicting = reordered_and_conflicting(signed_in)
    for spec in (late, conflicting):
        timeline = signed_in.get(f"/v1/calls/{spec.call_uuid}/timeline", headers=AUTH).json()
        page = signed_in.get(f"/console/calls/{spec.call_uuid}")
        assert page.status_code == 200
        assert marks(page.text) == [entry["verdict"] for entry in timeline["entries"]]
        for entry in timeline["entries"]:  # each mark opens its parameters and position
            assert f'<details id="entry-{entry["position"]}"' in page.text
            assert f'class="position">{entry["position"]}<' in page.text
    reordered = signed_in.get(f"/console/calls/{late.call_uuid}").text
    assert "Arrived out of order:" in reordered
    assert "⇄ arrived 1, Plivo " in reordered  # the hangup came first, Plivo sent it last
    assert ">A leg</text>" in reordered
    assert "B leg " in reordered  # a lane for the Dial's B leg
    assert "late" in marks(reordered)
    assert "conflict" in marks(signed_in.get(f"/console/calls/{conflicting.call_uuid}").text)


def test_the_call_downloads_as_the_read_apis_timeline(signed_in: TestClient[Litestar]) -> None:
    late, _ = reordered_and_conflicting(signed_in)
    download = signed_in.get(f"/console/calls/{late.call_uuid}/json")
    assert download.headers["content-disposition"] == (
        f'attachment; filename="call-{late.call_uuid}.json"'
    )
    timeline = signed_in.get(f"/v1/calls/{late.call_uuid}/timeline", headers=AUTH).json()
    assert download.json() == timeline


def test_an_unknown_call_is_a_404_page(signed_in: TestClient[Litestar]) -> None:
    response = signed_in.get("/console/calls/no-such-call")
    assert response.status_code == 404
    assert "No such call" in response.text


def test_the_calls_page_filters_finds_and_pages(signed_in: TestClient[Litestar]) -> None:
    specs = [outbound(CallStatus.BUSY) for _ in range(3)] + [inbound(answered=True)]
    wait_for(signed_in, deliver(signed_in, specs))
    page = signed_in.get("/console/calls")
    shown = re.findall(r'href="/console/calls/([0-9a-f-]{36})"', page.text)
    assert shown == [spec.call_uuid for spec in reversed(specs)]  # newest first
    busy = signed_in.get("/console/calls?status=busy&direction=&cause=&since=")
    assert re.findall(r'href="/console/calls/([0-9a-f-]{36})"', busy.text) == [
        spec.call_uuid for spec in reversed(specs[:3])
    ]
    found = signed_in.get(f"/console/calls?find={specs[1].call_uuid}", follow_redirects=False)
    assert found.headers["location"] == f"/console/calls/{specs[1].call_uuid}"
    by_number = signed_in.get("/console/calls?find=%2B14155550100")  # the inbound caller
    assert specs[3].call_uuid in by_number.text
    assert "Calls from or to <strong>+14155550100</strong>: 1 found" in by_number.text


def test_new_calls_come_as_rows_after_the_top_one(signed_in: TestClient[Litestar]) -> None:
    first = outbound(CallStatus.BUSY)
    wait_for(signed_in, deliver(signed_in, [first]))
    page = signed_in.get("/console/calls")
    top = re.search(r'data-cursor="([^"]+)"', page.text)
    assert top is not None
    assert 'hx-get="/console/calls/newer?' in page.text
    assert signed_in.get(f"/console/calls/newer?top={top[1]}").text.strip() == ""
    later = [outbound(CallStatus.NO_ANSWER), inbound(answered=False)]
    wait_for(signed_in, deliver(signed_in, later))
    rows = signed_in.get(f"/console/calls/newer?top={top[1]}").text
    assert re.findall(r'href="/console/calls/([0-9a-f-]{36})"', rows) == [
        later[1].call_uuid,
        later[0].call_uuid,
    ]
    filtered = signed_in.get(f"/console/calls/newer?top={top[1]}&direction=inbound").text
    assert later[0].call_uuid not in filtered


def test_bad_filters_are_a_400_page_naming_them(signed_in: TestClient[Litestar]) -> None:
    for query, named in (
        ("status=lost", "status: expected one of"),
        ("cause=abc", "cause: expected a hangup cause code"),
        ("since=yesterday", "since: expected RFC 3339"),
        ("cursor=x.y", "cursor: not a cursor"),
    ):
        response = signed_in.get(f"/console/calls?{query}")
        assert response.status_code == 400, query
        assert named in unescape(response.text), query
    assert signed_in.get("/console/causes?bucket=week").status_code == 400
    assert signed_in.get("/console/calls/newer?top=nonsense").status_code == 200


def test_the_causes_page_shows_the_read_apis_numbers(signed_in: TestClient[Litestar]) -> None:
    specs = [outbound(CallStatus.BUSY), outbound(CallStatus.BUSY), inbound(answered=True)]
    wait_for(signed_in, deliver(signed_in, specs))
    page = signed_in.get("/console/causes?direction=outbound").text
    causes = signed_in.get(
        "/v1/metrics/hangup-causes", params={"direction": "outbound"}, headers=AUTH
    ).json()
    rows = re.findall(
        r'<tr data-code="(\d*)" data-source="[^"]*">.*?class="n calls">(\d+)<', page, re.S
    )
    assert [(int(code), int(calls)) for code, calls in rows] == [
        (row["hangup_cause_code"], row["calls"]) for row in causes["rows"]
    ]
    assert 'data-chart="{&#34;type&#34;:&#34;bar&#34;' in page


def test_masking_hides_every_number_on_the_pages(sqlite_url: str) -> None:
    with open_client(sqlite_url, MASK_NUMBERS="1") as client:
        sign_in(client)
        spec = inbound(answered=True, losers=1)
        sender = PlivoSender(client)
        for callback in spec.callbacks:
            params = dict(callback.params)
            if callback.kind is CallbackKind.DIAL_CALLBACK:
                params |= {"DialBLegFrom": "+14155550100", "ForwardedFrom": "+14155550177"}
            position = sender.send(PATHS[callback.kind], params).headers["x-calltrail-position"]
        wait_for(client, int(position))
        pages = [
            client.get("/console/calls").text,
            client.get(f"/console/calls/{spec.call_uuid}").text,
            client.get(f"/console/calls/{spec.call_uuid}/json").text,
        ]
    for html in pages:
        assert "14155550100" not in html
        assert "918035735900" not in html
        assert "14155550177" not in html
    assert "••••••••0100" in pages[1]


def test_the_health_page_shows_lag_batches_and_quarantine(
    signed_in: TestClient[Litestar],
) -> None:
    position = deliver(signed_in, [outbound(CallStatus.BUSY)])
    wait_for(signed_in, position)
    page = signed_in.get("/console/health").text
    assert f"The log holds <strong>{position}</strong> events." in page
    lags = re.findall(
        r'<th scope="row">(\w+)</th><td class="n">(\d+)</td><td class="n lag">(\d+)<', page
    )
    assert [(name, int(lag)) for name, _, lag in lags] == [("timeline", 0), ("metrics", 0)]
    committed = re.search(r"This worker process committed (\d+) batches", page)
    assert committed is not None
    batches = re.findall(r"<tr><td>([0-9+Inf]+)</td><td class=\"n\">(\d+)</td></tr>", page)
    assert batches[0][0] == "1"
    assert sum(int(n) for _, n in batches) == int(committed[1]) >= 1
    assert "No event is held." in page
    assert "No event is held." in signed_in.get("/console/health/status").text


def test_odd_input_is_a_page_never_a_500_on_either_store(database_url: str) -> None:
    with open_client(database_url) as client:
        sign_in(client)
        for path, status in (
            ("/console/calls?find=a%00b", 400),
            ("/console/calls?from=%2B1415%00", 400),
            ("/console/calls?since=0001-01-01T00:00:00%2B05:00", 400),
            ("/console/calls?cause=99999999999", 400),
            ("/console/calls?cursor=" + "9" * 40, 400),
            ("/console/calls/a%00b", 404),
            ("/console/calls/a%00b/json", 404),
            ("/console/calls/newer?top=1.1&status=%00", 200),
            ("/console/causes?since=2026-13-01", 400),
            ("/console/calls?find=" + "x" * 5000, 200),
        ):
            assert client.get(path, follow_redirects=False).status_code == status, path


def test_a_call_completed_from_the_call_api_is_marked_as_such(
    signed_in: TestClient[Litestar], sqlite_url: str
) -> None:
    spec = outbound(CallStatus.COMPLETED)
    sender = PlivoSender(signed_in)
    for callback in spec.callbacks:
        if callback.kind is not CallbackKind.HANGUP:  # the hangup Plivo gave up on
            assert sender.deliver(callback).status_code == 200
    call_log = open_call_log(sqlite_url)
    try:
        recorded = call_log.record(read(record_of(spec)))
    finally:
        call_log.close()
    assert recorded.position is not None
    wait_for(signed_in, recorded.position)
    page = signed_in.get(f"/console/calls/{spec.call_uuid}").text
    assert marks(page)[-1] == "advanced"
    assert "Call API · completed" in page
    assert page.count('<span class="tag api">from Plivo\'s Call API</span>') == 1
