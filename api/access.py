"""The request log: one JSON line per request (``service/logs.py``), with its request id.

Every request, reads and rejections included, logs its method, path, status and duration,
its request id (the client's ``X-Request-ID`` when it is sane, else a new one; returned
in the response's ``X-Request-ID``), the API key's id when one was presented (a short
hash: never the key), and for webhooks what was recorded. Cheap on purpose: it runs on
the webhook path.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable
from hashlib import sha256
from typing import Any

from litestar.types import ASGIApp, HTTPScope, Message, Receive, Send

from service.logs import log_fields

REQUEST_ID = b"x-request-id"
_SANE_ID = re.compile(rb"[\w.:/+=@-]{1,128}")  # bytes: \w is ASCII letters, digits, _
access_log = logging.getLogger("calltrail.access")
_INFO = logging.INFO


def request_id(headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """The client's ``X-Request-ID`` if it is 1-128 plain characters, else a new random id."""
    for name, value in headers:
        if name == REQUEST_ID:
            if _SANE_ID.fullmatch(value):
                return value
            break
    return os.urandom(16).hex().encode()


def key_id(authorization: bytes | None) -> str | None:
    """A short, stable id of the bearer key presented (12 hex digits of its SHA-256)."""
    if not authorization:
        return None
    scheme, _, key = authorization.partition(b" ")
    if scheme.lower() != b"bearer" or not key.strip():
        return None
    return sha256(key.strip()).hexdigest()[:12]


def log_request(scope: HTTPScope, status: int, started: float, rid: bytes, **fields: Any) -> None:
    """Log one finished request (at INFO) with ``fields`` beside the common ones."""
    if not access_log.isEnabledFor(_INFO):
        return
    line = {
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        "request_id": rid.decode("latin-1"),
    }
    line.update(fields)
    log_fields(access_log, "request", line)


async def logged(app: ASGIApp, scope: HTTPScope, receive: Receive, send: Send) -> None:
    """Run ``app`` on an HTTP request, adding ``X-Request-ID`` to its reply and logging it."""
    started = time.perf_counter()
    headers = scope["headers"]
    rid = request_id(headers)
    status = 500  # if the app fails before it replies, the server answers 500

    async def send_with_id(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            message["headers"] = [*message.get("headers", ()), (REQUEST_ID, rid)]
        await send(message)

    try:
        await app(scope, receive, send_with_id)
    finally:
        authorization = next((v for k, v in headers if k == b"authorization"), None)
        log_request(scope, status, started, rid, key_id=key_id(authorization))
