"""The simulator's requests carry signatures the plivo SDK's own validator accepts."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plivo.utils import validate_v3_signature

from simulator.signing import sign_request

TOKEN = "simulator-token-0123"
MAIN = "simulator-main-token-4567"
BASE = "https://calltrail.example.com:8443/prefix"

# The SDK's GET path decodes the query as ASCII (it raises on anything else), so GET
# values stay ASCII; POST bodies take any text.
ascii_values = st.text(st.characters(codec="ascii"), max_size=20)
any_values = st.text(st.characters(codec="utf-8"), max_size=20)
keys = st.text("ABCDEFGHXYZ", min_size=1, max_size=8)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_sdk_validates_what_the_simulator_signs(method: str, data: st.DataObject) -> None:
    values = ascii_values if method == "GET" else any_values
    params = data.draw(st.dictionaries(keys, values))
    signed = sign_request(BASE, "/plivo/hangup", params, method, TOKEN, MAIN)
    nonce = signed.headers["X-Plivo-Signature-V3-Nonce"]
    url = BASE + signed.target
    form = dict(parse_qsl(signed.body.decode(), keep_blank_values=True)) if signed.body else {}
    for token, header in ((TOKEN, "X-Plivo-Signature-V3"), (MAIN, "X-Plivo-Signature-Ma-V3")):
        assert validate_v3_signature(method, url, nonce, token, signed.headers[header], form)
    assert not validate_v3_signature(
        method, url, nonce, "another", signed.headers["X-Plivo-Signature-V3"], form
    )
    if method == "GET":
        assert dict(parse_qsl(signed.target.partition("?")[2], keep_blank_values=True)) == params
    else:
        assert form == params


def test_each_request_has_its_own_nonce() -> None:
    first = sign_request(BASE, "/plivo/ring", {"CallUUID": "x"}, "POST", TOKEN)
    second = sign_request(BASE, "/plivo/ring", {"CallUUID": "x"}, "POST", TOKEN)
    assert (
        first.headers["X-Plivo-Signature-V3-Nonce"] != second.headers["X-Plivo-Signature-V3-Nonce"]
    )
    assert "X-Plivo-Signature-Ma-V3" not in first.headers
