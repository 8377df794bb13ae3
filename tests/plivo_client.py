"""Sends webhooks the way Plivo does: form or query, signed with the plivo SDK's own code."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from urllib.parse import urlencode

import httpx

from domain.callbacks import Callback
from simulator.signing import PATHS, Params, sdk_signature
from simulator.signing import pairs as _pairs

TOKEN = "test-auth-token-0123456789"
MAIN_TOKEN = "test-main-token-9876543210"
PUBLIC_URL = "https://calltrail.example.com"
__all__ = ["MAIN_TOKEN", "PATHS", "PUBLIC_URL", "TOKEN", "PlivoSender", "sdk_signature"]


class PlivoSender:
    """Sends signed webhooks to ``client`` as if Plivo were calling ``public_url``."""

    def __init__(
        self, client: httpx.Client, public_url: str = PUBLIC_URL, token: str = TOKEN
    ) -> None:
        self.client = client
        self.public_url = public_url
        self.token = token

    def send(
        self,
        path: str,
        params: Params,
        *,
        method: str = "POST",
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        signed_params: Params | None = None,
    ) -> httpx.Response:
        """Sign and send; ``signed_params`` signs other values than those sent (tampering)."""
        nonce = secrets.token_hex(10)
        query = urlencode(list(_pairs(params))) if method == "GET" else ""
        url = self.public_url + path + (f"?{query}" if query else "")
        signed = signed_params if signed_params is not None else params
        signed_url = url
        if method == "GET" and signed_params is not None:
            signed_url = self.public_url + path + "?" + urlencode(list(_pairs(signed)))
        signature = sdk_signature(method, signed_url, signed, token or self.token, nonce)
        sent = {"X-Plivo-Signature-V3": signature, "X-Plivo-Signature-V3-Nonce": nonce}
        sent |= dict(headers or {})
        target = path + (f"?{query}" if query else "")
        if method == "GET":
            return self.client.get(target, headers=sent)
        body = urlencode(list(_pairs(params)))
        sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return self.client.post(target, content=body, headers=sent)

    def deliver(self, callback: Callback, method: str = "POST") -> httpx.Response:
        """Send a domain ``Callback`` to the URL of its kind."""
        return self.send(PATHS[callback.kind], dict(callback.params), method=method)
