"""The webhook routes as a plain ASGI path in front of the Litestar app.

A webhook is the service's hot path: Litestar's routing, request objects, dependency
injection and middleware cost more than recording the callback itself. ``CalltrailApp``
answers a GET or POST on a webhook path here, with the same form parsing, signature
check, ``Callback`` and writer as the Litestar routes (``api/webhooks.py``), and the same
replies, headers and JSON errors. Whatever it does not handle itself (another method, a
body that is not a form or is over ``CALLTRAIL_MAX_BODY_BYTES``) goes to the Litestar
routes, which answer as they always have; so does every other path.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import msgspec
from litestar import Litestar
from litestar.types import HTTPScope, Receive, ReceiveMessage, Scope, Send

from api.access import REQUEST_ID, log_request, logged, request_id
from api.errors import ApiError, ErrorBody
from api.webhooks import FORM, ROUTES, Webhooks
from domain.callbacks import CallbackKind
from store.writer import STORE_UNAVAILABLE

log = logging.getLogger("calltrail.api")

WebhookCounts = Counter[tuple[str, int, str]]
"""Webhooks answered by the plain path, by kind, HTTP status and verdict (Prometheus)."""

_XML = [(b"content-type", b"application/xml")]
_JSON = [(b"content-type", b"application/json")]
_encode = msgspec.json.Encoder().encode


class PlainWebhooks:
    """Records webhooks straight from ASGI; hands anything unusual to the Litestar routes."""

    def __init__(
        self, webhooks: Callable[[], Webhooks], counts: WebhookCounts, max_body: int
    ) -> None:
        self.kinds = {path: kind for kind, paths in ROUTES.items() for path in paths}
        self.webhooks = webhooks
        self.counts = counts
        self.max_body = max_body

    async def handle(
        self, kind: CallbackKind, scope: HTTPScope, receive: Receive, send: Send
    ) -> list[ReceiveMessage] | None:
        """Answer the request; or return what was received, for the Litestar routes."""
        started = time.perf_counter()
        raw = scope["headers"]
        rid = request_id(raw)
        # First value wins, as Litestar's headers.get gives it.
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in [*raw][::-1]}
        body = await self._body(scope, headers, receive)
        if isinstance(body, list):
            return body
        hooks = self.webhooks()
        try:
            callback = hooks.callback(kind, scope, headers.get, body)
            recorded = await hooks.writer.submit_async(callback)
        except Exception as error:
            status = await self._fail(error, scope, send, rid)
            self.counts[kind.value, status, ""] += 1
            log_request(scope, status, started, rid, kind=kind.value)
            return None
        verdict = recorded.verdict.value
        reply = hooks.reply_for(kind)
        head = [(b"x-calltrail-verdict", verdict.encode())]
        if recorded.position is not None:
            head.append((b"x-calltrail-position", b"%d" % recorded.position))
        head += [*_XML, (b"content-length", b"%d" % len(reply)), (REQUEST_ID, rid)]
        await send({"type": "http.response.start", "status": 200, "headers": head})
        await send({"type": "http.response.body", "body": reply, "more_body": False})
        self.counts[kind.value, 200, verdict] += 1
        log_request(
            scope, 200, started, rid, kind=kind.value, call_uuid=callback.call_uuid,
            verdict=verdict, position=recorded.position,
        )  # fmt: skip
        return None

    async def _body(
        self, scope: HTTPScope, headers: dict[str, str], receive: Receive
    ) -> bytes | list[ReceiveMessage]:
        """A POST's form body (empty for GET), or the messages received so far when the
        Litestar routes must answer (they reply 415 or 413 as they always have)."""
        if scope["method"] == "GET":
            return b""
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        length = headers.get("content-length", "")
        if kind != FORM or (length.isdigit() and int(length) > self.max_body):
            return []
        messages: list[ReceiveMessage] = []
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages  # the client went away: Litestar deals with it
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body:
                return messages
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    @staticmethod
    async def _fail(error: Exception, scope: HTTPScope, send: Send, rid: bytes) -> int:
        """Reply to a failed webhook as the Litestar routes' exception handlers do."""
        if isinstance(error, ApiError):
            status, code, detail = error.status, error.code, error.detail
        elif isinstance(error, STORE_UNAVAILABLE):
            log.error("store unavailable at %s: %s", scope["path"], error)
            status, code = 503, "store_unavailable"
            detail = "the event store is unavailable; retry later"
        else:
            log.exception("webhook failed at %s", scope["path"])
            status, code, detail = 500, "internal_error", "an unexpected error; it has been logged"
        body = _encode(ErrorBody(code, detail))
        head = [*_JSON, (b"content-length", b"%d" % len(body)), (REQUEST_ID, rid)]
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": body, "more_body": False})
        return status


def _replaying(messages: list[ReceiveMessage], receive: Receive) -> Receive:
    """``receive``, first giving back ``messages`` already taken from it."""
    pending = list(messages)

    async def replay() -> Any:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


class CalltrailApp(Litestar):
    """The Litestar app, with the webhooks' plain path in front and every request logged."""

    plain: PlainWebhooks | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Send webhook GETs and POSTs down the plain path, the rest to Litestar."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        plain = self.plain
        kind = plain.kinds.get(scope["path"]) if plain is not None else None
        if plain is not None and kind is not None and scope["method"] in ("GET", "POST"):
            taken = await plain.handle(kind, scope, receive, send)
            if taken is None:
                return
            receive = _replaying(taken, receive)
        await logged(super().__call__, scope, receive, send)


__all__ = ["CalltrailApp", "PlainWebhooks", "Scope", "WebhookCounts"]
