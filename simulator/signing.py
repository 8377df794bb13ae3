"""Requests signed as Plivo signs them: V3 (and Ma-V3) with a fresh nonce, by the plivo SDK.

The SDK's own functions build the signed string and the HMAC, so the simulator proves
that calltrail accepts what Plivo sends, not what calltrail's verifier expects.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from plivo.utils.signature_v3 import construct_get_url, construct_post_url, get_signature_v3

from domain.callbacks import CallbackKind

PATHS: Mapping[CallbackKind, str] = {
    CallbackKind.ANSWER: "/plivo/answer",
    CallbackKind.FALLBACK: "/plivo/fallback",
    CallbackKind.RING: "/plivo/ring",
    CallbackKind.HANGUP: "/plivo/hangup",
    CallbackKind.DIAL_ACTION: "/plivo/dial/action",
    CallbackKind.DIAL_CALLBACK: "/plivo/dial/callback",
}
"""Where calltrail serves each callback kind (the URLs configured in Plivo)."""

Params = Mapping[str, str | list[str]]


def sdk_signature(method: str, url: str, params: Params, token: str, nonce: str) -> str:
    """The ``X-Plivo-Signature-V3`` value the plivo SDK computes for this request."""
    as_dict = dict(params.items())
    base = construct_get_url(url, {}) if method == "GET" else construct_post_url(url, as_dict)
    signature: bytes = get_signature_v3(token.encode(), base.decode("utf-8"), nonce.encode())
    return signature.decode()


def pairs(params: Params) -> list[tuple[str, str]]:
    """``params`` as form pairs, a list value giving one pair per item."""
    out: list[tuple[str, str]] = []
    for key, value in params.items():
        values = value if isinstance(value, list) else [value]
        out.extend((key, item) for item in values)
    return out


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """An HTTP request ready to send: target (path and query), headers and form body."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


def sign_request(
    public_url: str,
    path: str,
    params: Params,
    method: str,
    token: str,
    main_token: str | None = None,
) -> SignedRequest:
    """Sign ``params`` sent by ``method`` to ``public_url + path``, as Plivo would.

    With GET the parameters travel in the query, which is part of the signed URL; with
    POST they are a form body and the SDK appends them, sorted, to the URL.
    """
    nonce = secrets.token_hex(10)
    query = urlencode(pairs(params)) if method == "GET" else ""
    target = path + (f"?{query}" if query else "")
    signed = params if method == "POST" else {}
    headers = {
        "X-Plivo-Signature-V3": sdk_signature(method, public_url + target, signed, token, nonce),
        "X-Plivo-Signature-V3-Nonce": nonce,
    }
    if main_token:
        ma = sdk_signature(method, public_url + target, signed, main_token, nonce)
        headers["X-Plivo-Signature-Ma-V3"] = ma
    body = b""
    if method == "POST":
        body = urlencode(pairs(params)).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return SignedRequest(method, target, headers, body)
