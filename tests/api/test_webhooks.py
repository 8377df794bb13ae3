"""Every webhook kind over real HTTP, signed with the plivo SDK, on each store."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from domain.callbacks import CallbackKind
from domain.status import CallStatus
from service.bootstrap import bootstrap
from store.application import CallLog
from store.writer import DirectWriter
from tests.api.conftest import settings_for, stored
from tests.api.payloads import (
    ANSWERED_OUTBOUND_HANGUP,
    BUSY_OUTBOUND_HANGUP,
    INBOUND_ANSWER,
    INBOUND_BUSY_HANGUP,
    OUTBOUND_ANSWER,
)
from tests.factories import new_uuid
from tests.plivo_client import PATHS, PUBLIC_URL, PlivoSender

ALL_PATHS = [*PATHS.values(), "/dialstatus/", "/dialstatus/action/"]


def ring(call_uuid: str) -> dict[str, str]:
    return {"CallUUID": call_uuid, "CallStatus": "ringing", "Direction": "outbound", "To": "1"}


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("path", ALL_PATHS)
def test_every_kind_is_recorded_by_get_and_post(
    sender: PlivoSender, call_log: CallLog, path: str, method: str
) -> None:
    call_uuid = new_uuid()
    response = sender.send(path, ring(call_uuid), method=method)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    assert response.headers["x-calltrail-verdict"] == "advanced"
    assert int(response.headers["x-calltrail-position"]) >= 1
    ET.fromstring(response.content)  # always well-formed XML
    assert call_log.call(call_uuid).status is CallStatus.RINGING


@pytest.mark.parametrize("path", ["/plivo/answer", "/plivo/fallback", "/dialstatus/"])
def test_answer_replies_with_a_dial_that_reports_back_here(sender: PlivoSender, path: str) -> None:
    response = sender.send(path, INBOUND_ANSWER)
    root = ET.fromstring(response.content)
    assert root.tag == "Response"
    assert root[0].tag == "Speak"
    assert root[0].text == "Connecting you now"
    dial = root[1]
    assert dial.tag == "Dial"
    assert dial.attrib["action"] == f"{PUBLIC_URL}/plivo/dial/action"
    assert dial.attrib["callbackUrl"] == f"{PUBLIC_URL}/plivo/dial/callback"
    assert dial.attrib["callerId"] == "+14155550199"
    assert (dial.attrib["timeout"], dial.attrib["timeLimit"]) == ("30", "14400")
    assert [(e.tag, e.text) for e in dial] == [
        ("Number", "+14155550100"),
        ("User", "sip:alice@phone.plivo.com"),
    ]


@pytest.mark.parametrize(
    "path", ["/plivo/ring", "/plivo/hangup", "/plivo/dial/callback", "/plivo/dial/action"]
)
def test_other_kinds_get_an_empty_response_element(sender: PlivoSender, path: str) -> None:
    response = sender.send(path, ring(new_uuid()))
    root = ET.fromstring(response.content)
    assert (root.tag, list(root)) == ("Response", [])


def test_captured_answered_outbound_call(sender: PlivoSender, call_log: CallLog) -> None:
    assert sender.send("/plivo/answer", OUTBOUND_ANSWER).status_code == 200
    assert sender.send("/plivo/hangup", ANSWERED_OUTBOUND_HANGUP).status_code == 200
    summary = call_log.call(OUTBOUND_ANSWER["CallUUID"]).summary()
    assert (summary.status, summary.answered) == (CallStatus.COMPLETED, True)
    assert summary.hangup is not None
    assert (summary.hangup.cause_code, summary.hangup.duration) == ("4000", 66)
    assert summary.hangup.bill_duration == 120
    assert summary.parties.from_ == "917658035735900"


def test_captured_busy_outbound_call(sender: PlivoSender, call_log: CallLog) -> None:
    assert sender.send("/plivo/hangup", BUSY_OUTBOUND_HANGUP, method="GET").status_code == 200
    summary = call_log.call(BUSY_OUTBOUND_HANGUP["CallUUID"]).summary()
    assert (summary.status, summary.answered) == (CallStatus.BUSY, False)
    assert summary.hangup is not None
    assert summary.hangup.cause_code == "3010"


def test_captured_inbound_call_rings_then_ends_busy(sender: PlivoSender, call_log: CallLog) -> None:
    call_uuid = INBOUND_ANSWER["CallUUID"]
    sender.send("/plivo/answer", INBOUND_ANSWER)
    assert call_log.call(call_uuid).status is CallStatus.RINGING
    sender.send("/plivo/hangup", INBOUND_BUSY_HANGUP)
    summary = call_log.call(call_uuid).summary()
    assert (summary.status, summary.answered) == (CallStatus.BUSY, False)
    params = call_log.call(call_uuid).fingerprints
    assert len(params) == 2


def test_blank_and_unknown_fields_are_stored_verbatim(
    sender: PlivoSender, call_log: CallLog
) -> None:
    call_uuid = new_uuid()
    sent = ring(call_uuid) | {"AnswerTime": "", "X-PH-Tenant": "acme", "Brand New Field": "ü"}
    sender.send("/plivo/ring", sent)
    events = call_log.repository.event_store.get(call_log.call(call_uuid).id)
    last = list(events)[-1]
    assert last.params == sent  # type: ignore[attr-defined]


def test_a_query_configured_on_a_post_url_is_signed_apart_and_kept(
    sender: PlivoSender, call_log: CallLog
) -> None:
    call_uuid = new_uuid()
    response = sender.send("/plivo/ring?tenant=acme", ring(call_uuid))
    assert response.status_code == 200, response.text
    event = list(call_log.repository.event_store.get(call_log.call(call_uuid).id))[-1]
    assert event.params["tenant"] == "acme"  # type: ignore[attr-defined]


def test_repeated_keys_keep_every_value(sender: PlivoSender, call_log: CallLog) -> None:
    call_uuid = new_uuid()
    response = sender.send("/plivo/ring", ring(call_uuid) | {"Digits": ["1", "2"]})
    assert response.status_code == 200
    event = list(call_log.repository.event_store.get(call_log.call(call_uuid).id))[-1]
    assert event.params["Digits"] == "1,2"  # type: ignore[attr-defined]


def test_a_retried_delivery_is_acknowledged_once_stored(
    sender: PlivoSender, call_log: CallLog
) -> None:
    params = ring(new_uuid())
    first = sender.send("/plivo/ring", params)
    before = stored(call_log)
    again = sender.send("/plivo/ring", params)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers["x-calltrail-verdict"] == "duplicate"
    assert "x-calltrail-position" not in again.headers
    assert stored(call_log) == before


def test_late_callbacks_are_acknowledged_and_recorded(
    sender: PlivoSender, call_log: CallLog
) -> None:
    call_uuid = BUSY_OUTBOUND_HANGUP["CallUUID"]
    sender.send("/plivo/hangup", BUSY_OUTBOUND_HANGUP)
    late = sender.send("/plivo/ring", ring(call_uuid))
    assert late.status_code == 200
    assert late.headers["x-calltrail-verdict"] == "late"
    assert call_log.call(call_uuid).status is CallStatus.BUSY


def test_the_main_account_signature_is_accepted(
    client: TestClient[Litestar], call_log: CallLog
) -> None:
    from tests.plivo_client import MAIN_TOKEN, sdk_signature  # noqa: PLC0415

    params = ring(new_uuid())
    url = f"{PUBLIC_URL}/plivo/ring"
    headers = {
        "X-Plivo-Signature-V3": "not-it",
        "X-Plivo-Signature-Ma-V3": sdk_signature("POST", url, params, MAIN_TOKEN, "n0nce"),
        "X-Plivo-Signature-V3-Nonce": "n0nce",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    response = client.post("/plivo/ring", data=params, headers=headers)
    assert response.status_code == 200, response.text


def test_a_rotated_token_still_verifies(client: TestClient[Litestar]) -> None:
    old = PlivoSender(client, token="previous-token-abc")
    assert old.send("/plivo/ring", ring(new_uuid())).status_code == 200


def test_kinds_cover_every_callback_kind() -> None:
    assert set(PATHS) == set(CallbackKind)


def test_without_group_commit_each_request_is_saved_on_its_own(database_url: str) -> None:
    """``CALLTRAIL_GROUP_COMMIT=off``: the plain path, the benchmarks' baseline."""
    services = bootstrap(settings_for(database_url, GROUP_COMMIT="off", PROJECTIONS="off"))
    assert isinstance(services.writer, DirectWriter)
    with TestClient(app=create_app(services=services)) as client:
        sender = PlivoSender(client)
        log = services.call_log
        first = sender.send("/plivo/hangup", BUSY_OUTBOUND_HANGUP)
        again = sender.send("/plivo/hangup", BUSY_OUTBOUND_HANGUP)
        assert (first.status_code, again.status_code) == (200, 200)
        assert first.headers["x-calltrail-verdict"] == "advanced"
        assert again.headers["x-calltrail-verdict"] == "duplicate"
        assert log.call(BUSY_OUTBOUND_HANGUP["CallUUID"]).status is CallStatus.BUSY
