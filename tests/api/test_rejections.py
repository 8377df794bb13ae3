"""Bad input gets a clear 4xx with a JSON error, and nothing is stored."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from service.settings import SettingsError
from store.application import CallLog
from tests.api.conftest import settings_for, stored
from tests.factories import new_uuid
from tests.plivo_client import TOKEN, PlivoSender


def ring(call_uuid: str) -> dict[str, str]:
    return {"CallUUID": call_uuid, "CallStatus": "ringing"}


FORM = {"Content-Type": "application/x-www-form-urlencoded"}

Case = Callable[[PlivoSender, TestClient[Litestar]], httpx.Response]

CASES: dict[str, tuple[Case, int, str]] = {
    "tampered param": (
        lambda s, c: s.send("/plivo/ring", ring("a"), signed_params=ring("b")),
        403,
        "signature_mismatch",
    ),
    "tampered query": (
        lambda s, c: s.send("/plivo/ring", ring("a"), method="GET", signed_params=ring("b")),
        403,
        "signature_mismatch",
    ),
    "wrong token": (
        lambda s, c: s.send("/plivo/ring", ring("a"), token="not-the-token"),
        403,
        "signature_mismatch",
    ),
    "no signature": (
        lambda s, c: c.post("/plivo/ring", data=ring("a"), headers=FORM),
        403,
        "signature_missing",
    ),
    "signature without nonce": (
        lambda s, c: s.send("/plivo/ring", ring("a"), headers={"X-Plivo-Signature-V3-Nonce": ""}),
        403,
        "signature_missing",
    ),
    "signed for another path": (
        lambda s, c: PlivoSender(c, public_url="https://calltrail.example.com/other").send(
            "/plivo/ring", ring("a")
        ),
        403,
        "signature_mismatch",
    ),
    "missing CallUUID": (
        lambda s, c: s.send("/plivo/ring", {"CallStatus": "ringing"}),
        400,
        "bad_form",
    ),
    "blank CallUUID": (lambda s, c: s.send("/plivo/ring", ring("  ")), 400, "bad_form"),
    "json body": (
        lambda s, c: c.post("/plivo/ring", json=ring("a")),
        415,
        "unsupported_media_type",
    ),
    "multipart body": (
        lambda s, c: c.post("/plivo/ring", files={"f": b"x"}, data=ring("a")),
        415,
        "unsupported_media_type",
    ),
    "body over the limit": (
        lambda s, c: s.send("/plivo/ring", ring("a") | {"Pad": "x" * 5000}),
        413,
        "body_too_large",
    ),
    "malformed encoding": (
        lambda s, c: c.post(
            "/plivo/ring", content=b"CallUUID=%ff%fe&CallStatus=ringing", headers=FORM
        ),
        400,
        "bad_form",
    ),
    "wrong method": (
        lambda s, c: c.put("/plivo/ring", data=ring("a")),
        405,
        "method_not_allowed",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_rejected_with_a_json_error_and_nothing_stored(
    case: str, sender: PlivoSender, client: TestClient[Litestar], call_log: CallLog
) -> None:
    send, status, code = CASES[case]
    before = stored(call_log)
    response = send(sender, client)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert body["detail"]
    assert body["error"] == code
    assert stored(call_log) == before


def test_the_rejected_url_is_logged_to_help_fix_proxies(
    sender: PlivoSender, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="calltrail.webhooks"):
        sender.send("/plivo/ring?x=1", ring(new_uuid()), token="wrong")
    assert "https://calltrail.example.com/plivo/ring?x=1" in caplog.text
    assert "wrong" not in caplog.text
    assert TOKEN not in caplog.text


def test_no_auth_token_refuses_to_start(sqlite_url: str) -> None:
    settings = settings_for(sqlite_url, AUTH_TOKEN="")
    with pytest.raises(SettingsError, match="CALLTRAIL_AUTH_TOKEN"):
        create_app(settings)


def test_insecure_mode_accepts_unsigned_and_warns(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        app = create_app(settings_for(sqlite_url, AUTH_TOKEN="", INSECURE_SKIP_SIGNATURE="1"))
    assert "NOT checked" in caplog.text
    with TestClient(app=app) as client:
        response = client.post("/plivo/ring", data=ring(new_uuid()), headers=FORM)
        assert response.status_code == 200
