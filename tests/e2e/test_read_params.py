"""No read gives a 5xx, whatever its parameters: hypothesis over every path and query
parameter of every ``/v1`` route, against ``calltrail serve`` on each store.

``test_schema_fuzz.py`` checks that answers match the OpenAPI schema with values the
schema describes; this one sends what a careless or hostile client sends instead: times
at the ends of the range with any offset, integers past every bound, any text (NUL
included), blanks and repeated parameters. The routes and their parameters are read from
the served schema, so a new route is covered as soon as it is served.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.status import CallStatus
from store.application import open_call_log
from tests.e2e.server import running_server
from tests.factories import inbound, outbound

KEY = "params-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
ANSWERS = {200, 400, 404, 409}  # 409: min_position past the log's end

offsets = st.one_of(
    st.sampled_from(["", "Z", "+00:00", "+05:00", "-05:00", "+23:59", "-23:59"]),
    st.builds(
        lambda sign, hours, minutes: f"{sign}{hours:02d}:{minutes:02d}",
        st.sampled_from("+-"),
        st.integers(0, 99),
        st.integers(0, 99),
    ),
)
ends = st.sampled_from(
    [datetime.min, datetime.max, datetime(1, 1, 1, 5), datetime(9999, 12, 31, 23, 30)]
)
times = st.builds(
    lambda at, offset: at.isoformat() + offset, st.one_of(ends, st.datetimes()), offsets
)
numbers = st.one_of(
    st.sampled_from([0, 1, -1, 2**53 - 1, 2**53, 2**63, 10**30]), st.integers()
).map(str)
words = st.sampled_from(
    ["", " ", "hour", "day", "week", "inbound", "outbound", "4000", "null", "%00", "1e3"]
    + [status.value for status in CallStatus]
)
values = st.one_of(times, numbers, words, st.text(max_size=12))


def routes(base_url: str) -> list[tuple[str, list[str], list[str]]]:
    """Each ``/v1`` route: its path template, path parameters and query parameters."""
    schema = httpx.get(f"{base_url}/schema/openapi.json").json()
    found = []
    for path, operations in schema["paths"].items():
        if not path.startswith("/v1/"):
            continue
        params = operations["get"].get("parameters", [])
        in_path = [p["name"] for p in params if p["in"] == "path"]
        in_query = [p["name"] for p in params if p["in"] == "query"]
        found.append((path, in_path, in_query))
    return found


@st.composite
def requests(
    draw: st.DrawFn, table: list[tuple[str, list[str], list[str]]]
) -> tuple[str, list[tuple[str, str]]]:
    """A path with its path parameters filled in, and query pairs (a name may repeat)."""
    path, in_path, in_query = draw(st.sampled_from(table))
    for name in in_path:
        path = path.replace("{" + name + "}", quote(draw(values), safe="") or "x")
    names = draw(st.lists(st.sampled_from(in_query), max_size=4)) if in_query else []
    return path, [(name, draw(values)) for name in names]


def record_calls(database_url: str) -> int:
    """A few calls in the log before the server starts; the log's last position."""
    app = open_call_log(database_url)
    for spec in (outbound(CallStatus.COMPLETED, losers=1), outbound(CallStatus.BUSY)):
        for callback in spec.callbacks:
            app.record(callback)
    spec = inbound(answered=False)
    for callback in spec.callbacks:
        app.record(callback)
    return int(app.recorder.max_notification_id() or 0)


def test_no_read_parameter_gives_a_5xx(database_url: str) -> None:
    head = record_calls(database_url)
    extra = {"CALLTRAIL_API_KEYS": KEY, "CALLTRAIL_READ_WAIT_MS": "2000"}
    with (
        running_server(database_url, extra=extra) as server,
        httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as http,
    ):
        for view in ("/v1/calls", "/v1/metrics/kpis"):  # both views reach the log's end
            assert http.get(view, params={"min_position": head}).status_code == 200
        table = routes(server.url)
        assert len(table) == 6

        @given(request=requests(table))
        @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        def run(request: tuple[str, list[tuple[str, str]]]) -> None:
            path, query = request
            response = http.get(path, params=tuple(query))
            assert response.status_code in ANSWERS, (response.status_code, response.text)
            body: Any = response.json()
            if response.status_code != 200:
                assert body["error"]
                assert body["detail"]

        run()
