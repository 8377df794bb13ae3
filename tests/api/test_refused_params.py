"""Webhooks whose parameters calltrail could not store or read back are a 400 naming the
parameter, with nothing stored, on each store: a NUL character, a parameter the domain
reads sent twice, a ``CallUUID`` that cannot be used in ``/v1/calls/{call_uuid}``."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from domain.params import READ_PARAMS
from service.bootstrap import Services, bootstrap
from store.application import CallLog
from tests.api.conftest import settings_for, stored
from tests.factories import new_uuid
from tests.plivo_client import PUBLIC_URL, TOKEN, PlivoSender, sdk_signature

KEY = "read-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
# The accepted form, written out again here: a test of the rule, not a copy of the code.
ACCEPTED = r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}"


@pytest.fixture
def services(database_url: str) -> Services:
    return bootstrap(settings_for(database_url, API_KEYS=KEY, MAX_BODY_BYTES="65536"))


@pytest.fixture
def client(services: Services) -> Iterator[TestClient[Litestar]]:
    with TestClient(app=create_app(services=services)) as test_client:
        yield test_client


@pytest.fixture
def call_log(services: Services) -> CallLog:
    return services.call_log


def ring(call_uuid: str, **extra: str | list[str]) -> dict[str, str | list[str]]:
    return {"CallUUID": call_uuid, "CallStatus": "ringing", **extra}


def send_raw(client: TestClient[Litestar], path: str, body: bytes) -> httpx.Response:
    """POST ``body`` as it is (a raw NUL byte, say), signed by the SDK over its decoded form."""
    nonce = secrets.token_hex(10)
    pairs = [part.split(b"=", 1) for part in body.split(b"&")]
    params = {key.decode(): value.decode() for key, value in pairs}
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Plivo-Signature-V3": sdk_signature("POST", PUBLIC_URL + path, params, TOKEN, nonce),
        "X-Plivo-Signature-V3-Nonce": nonce,
    }
    return client.post(path, content=body, headers=headers)


def assert_refused(response: httpx.Response, named: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "bad_form"
    assert named in body["detail"], body["detail"]


Case = Callable[[PlivoSender, TestClient[Litestar]], httpx.Response]

NUL_CASES: dict[str, tuple[Case, str]] = {
    "in From": (lambda s, c: s.send("/plivo/ring", ring(new_uuid(), From="+1415\x00555")), "From"),
    "in a name": (
        lambda s, c: s.send("/plivo/ring", ring(new_uuid(), **{"X-PH-\x00": "1"})),
        "X-PH-",
    ),
    "in CallUUID": (lambda s, c: s.send("/plivo/hangup", ring("64d3290a\x00")), "CallUUID"),
    "in a query": (
        lambda s, c: s.send("/plivo/ring", ring(new_uuid(), To="\x00"), method="GET"),
        "To",
    ),
    "in the URL's query of a POST": (
        lambda s, c: s.send("/plivo/ring?tenant=a%00", ring(new_uuid())),
        "tenant",
    ),
    "as a raw byte": (
        lambda s, c: send_raw(c, "/plivo/ring", b"CallUUID=a-1&CallStatus=ringing&To=1\x002"),
        "To",
    ),
}


@pytest.mark.parametrize("case", list(NUL_CASES))
def test_a_nul_character_is_refused_naming_the_parameter_and_views_go_on(
    case: str, client: TestClient[Litestar], call_log: CallLog
) -> None:
    sender = PlivoSender(client)
    send, named = NUL_CASES[case]
    before = stored(call_log)
    assert_refused(send(sender, client), named)
    assert stored(call_log) == before
    # The views go on: the next call reads back at once.
    call_uuid = new_uuid()
    position = sender.send("/plivo/ring", ring(call_uuid)).headers["x-calltrail-position"]
    read = client.get(f"/v1/calls/{call_uuid}", params={"min_position": position}, headers=AUTH)
    assert read.status_code == 200, read.text


def test_a_parameter_the_domain_reads_sent_twice_is_refused(
    client: TestClient[Litestar], call_log: CallLog
) -> None:
    sender = PlivoSender(client)
    before = stored(call_log)
    for name in sorted(READ_PARAMS):
        params = ring(new_uuid()) | {name: ["a", "b"]}
        for method in ("POST", "GET"):
            response = sender.send("/plivo/hangup", params, method=method)
            assert_refused(response, f"{name} is sent 2 times")
    assert stored(call_log) == before


def test_another_parameter_sent_twice_keeps_both_values(client: TestClient[Litestar]) -> None:
    sender, call_uuid = PlivoSender(client), new_uuid()
    response = sender.send("/plivo/ring", ring(call_uuid, **{"X-PH-Tag": ["a", "b"]}))
    assert response.status_code == 200, response.text
    position = response.headers["x-calltrail-position"]
    timeline = client.get(
        f"/v1/calls/{call_uuid}/timeline", params={"min_position": position}, headers=AUTH
    ).json()
    assert timeline["entries"][0]["params"]["X-PH-Tag"] == "a,b"


FIXTURE_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
_allowed = st.sampled_from("abcdefXYZ0189-_.")
near_misses = st.builds(
    lambda head, odd, tail: head + odd + tail,
    st.from_regex(r"[a-f0-9]{1,8}", fullmatch=True),
    st.sampled_from([*"/?#%\\ ~+:@!$&'()*,;=é\u2028\x7f", "%2F", "..", "/timeline"]),
    st.text(_allowed, max_size=6),
)
refused = st.one_of(
    st.text(max_size=30),
    near_misses,
    st.sampled_from([".", "..", ".hidden", "-a", "_a", "x" * 201, " ", ""]),
).filter(lambda text: not re.fullmatch(ACCEPTED, text.strip(), re.ASCII))


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE_OK)
@given(call_uuid=st.from_regex(ACCEPTED, fullmatch=True))
def test_every_accepted_call_uuid_reads_back(client: TestClient[Litestar], call_uuid: str) -> None:
    assert quote(call_uuid, safe="") == call_uuid  # nothing a client must escape
    sent = ring(call_uuid, **{"X-PH-Example": new_uuid()})
    response = PlivoSender(client).send("/plivo/ring", sent)
    assert response.status_code == 200, response.text
    wait = {"min_position": response.headers["x-calltrail-position"]}
    call = client.get(f"/v1/calls/{call_uuid}", params=wait, headers=AUTH)
    assert call.status_code == 200, call.text
    assert call.json()["call"]["call_uuid"] == call_uuid
    timeline = client.get(f"/v1/calls/{call_uuid}/timeline", headers=AUTH)
    assert timeline.status_code == 200, timeline.text


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE_OK)
@given(call_uuid=refused)
def test_any_other_call_uuid_is_refused(
    client: TestClient[Litestar], call_log: CallLog, call_uuid: str
) -> None:
    before = stored(call_log)
    assert_refused(PlivoSender(client).send("/plivo/ring", ring(call_uuid)), "CallUUID")
    assert stored(call_log) == before
