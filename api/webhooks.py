"""The URLs Plivo calls. Each one: read the form, check the signature, record, reply.

A 2xx is sent only after the callback's event is committed; the reply carries its log
position (``X-Calltrail-Position``) so a client can read its own writes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from litestar import Response, route
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.params import SkipValidation
from litestar.types import HTTPScope

from api.errors import AnyRequest, ApiError, ErrorBody
from api.forms import FormError, flatten, parse_form, require_call_uuid
from api.responses import XML, Replies
from api.signature import SignatureVerifier
from domain.callbacks import Callback, CallbackKind
from service.settings import Settings
from store.application import Recorded
from store.writer import Writer

log = logging.getLogger("calltrail.webhooks")

ROUTES: dict[CallbackKind, list[str]] = {
    CallbackKind.ANSWER: ["/plivo/answer", "/dialstatus/"],
    CallbackKind.FALLBACK: ["/plivo/fallback"],
    CallbackKind.RING: ["/plivo/ring"],
    CallbackKind.HANGUP: ["/plivo/hangup"],
    CallbackKind.DIAL_ACTION: ["/plivo/dial/action", "/dialstatus/action/"],
    CallbackKind.DIAL_CALLBACK: ["/plivo/dial/callback"],
}
FORM = "application/x-www-form-urlencoded"


Header = Callable[[str], str | None]
"""A request header's value by its lower-case name (latin-1, as HTTP headers decode)."""


@dataclass(frozen=True, slots=True)
class Webhooks:
    """What the webhook handlers share: settings, the verifier, the writer, the replies.

    Both paths to the webhooks use it: the plain ASGI one (``api/ingest.py``) and the
    Litestar routes below, which serve what the plain path hands over.
    """

    settings: Settings
    verifier: SignatureVerifier | None  # None only with CALLTRAIL_INSECURE_SKIP_SIGNATURE=1
    writer: Writer
    replies: Replies

    def reply_for(self, kind: CallbackKind) -> bytes:
        """The XML body Plivo gets back for a callback of ``kind``."""
        if kind in (CallbackKind.ANSWER, CallbackKind.FALLBACK):
            return self.replies.answer
        if kind is CallbackKind.DIAL_ACTION:
            return self.replies.dial_action
        return self.replies.ack

    def signed_url(self, scope: HTTPScope, header: Header) -> str:
        """The URL Plivo signed: the public base, the path as sent, and the raw query."""
        base = self.settings.public_url
        client = scope.get("client")
        forwarded = header("x-forwarded-host")
        if forwarded and (client[0] if client else "") in self.settings.trusted_proxies:
            scheme = (header("x-forwarded-proto") or "https").split(",")[0].strip()
            prefix = base.split("://", 1)[1].partition("/")[2]
            base = f"{scheme}://{forwarded.split(',')[0].strip()}" + (
                f"/{prefix}" if prefix else ""
            )
        # raw_path keeps the path exactly as Plivo sent it (some servers include the query).
        raw_path = scope.get("raw_path") or scope["path"].encode()
        path = raw_path.partition(b"?")[0].decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        return base + path + (f"?{query}" if query else "")

    def callback(
        self, kind: CallbackKind, scope: HTTPScope, header: Header, body: bytes | None
    ) -> Callback:
        """The callback a request carries, verified; ``ApiError`` (400, 403) if not.

        ``body`` is the form of a POST (``None`` for GET, whose query holds the fields).
        """
        method = scope["method"]
        try:
            if method == "GET" or body is None:
                fields = parse_form(scope.get("query_string", b""))
            else:
                fields = parse_form(body)
            verify(self, scope, header, fields)
            params = flatten(with_query(scope, fields))
            require_call_uuid(params)
        except FormError as error:
            raise ApiError(400, "bad_form", str(error)) from None
        return Callback.of(kind, params, datetime.now(UTC))

    def reply_headers(self, recorded: Recorded) -> dict[str, str]:
        """The headers of a recorded callback's reply: its verdict and log position."""
        headers = {"X-Calltrail-Verdict": recorded.verdict.value}
        if recorded.position is not None:
            headers["X-Calltrail-Position"] = str(recorded.position)
        return headers


WebhooksDep = NamedDependency[SkipValidation[Webhooks]]


def require_form(content_type: str | None) -> None:
    """Reject (415) a POST whose body is not a form."""
    if (content_type or "").split(";")[0].strip().lower() != FORM:
        raise ApiError(415, "unsupported_media_type", f"POST bodies must be {FORM}")


def with_query(scope: HTTPScope, fields: dict[str, list[str]]) -> dict[str, list[str]]:
    """Add parameters configured on a POST URL (``?tenant=x``) to the body's, body first.

    Only after verification: Plivo signs a POST's query apart from its body.
    """
    if scope["method"] == "GET" or not scope.get("query_string"):
        return fields
    merged = dict(fields)
    for key, values in parse_form(scope["query_string"]).items():
        merged.setdefault(key, values)
    return merged


def verify(hooks: Webhooks, scope: HTTPScope, header: Header, fields: dict[str, list[str]]) -> None:
    """Reject (403) a request whose V3 signature does not match; log the URL that was checked."""
    if hooks.verifier is None:
        return
    nonce = header("x-plivo-signature-v3-nonce")
    signature = header("x-plivo-signature-v3")
    main_signature = header("x-plivo-signature-ma-v3")
    if not nonce or not (signature or main_signature):
        raise ApiError(
            403,
            "signature_missing",
            "X-Plivo-Signature-V3 (or -Ma-V3) and X-Plivo-Signature-V3-Nonce are required",
        )
    url = hooks.signed_url(scope, header)
    method = scope["method"]
    params = None if method == "GET" else fields
    if hooks.verifier.verify(method, url, params, nonce, signature, main_signature):
        return
    log.warning(
        "signature rejected: checked URL %s (set CALLTRAIL_PUBLIC_URL to what Plivo calls)", url
    )
    raise ApiError(403, "signature_mismatch", f"X-Plivo-Signature-V3 does not match for {url}")


def handler_for(
    kind: CallbackKind,
) -> Callable[[AnyRequest, Webhooks], Awaitable[Response[bytes]]]:
    """The request handler recording callbacks of ``kind``."""

    async def receive(request: AnyRequest, webhooks: WebhooksDep) -> Response[bytes]:
        body = None
        if request.method != "GET":
            require_form(request.headers.get("content-type"))
            body = await request.body()
        callback = webhooks.callback(kind, request.scope, request.headers.get, body)
        recorded = await webhooks.writer.submit_async(callback)
        return Response(
            webhooks.reply_for(kind), media_type=XML, headers=webhooks.reply_headers(recorded)
        )

    return receive


SUMMARIES: dict[CallbackKind, str] = {
    CallbackKind.ANSWER: "Plivo's answer_url: record, reply with the Dial XML",
    CallbackKind.FALLBACK: "Plivo's fallback_url: record, reply with the Dial XML",
    CallbackKind.RING: "Plivo's ring_url: record the ring",
    CallbackKind.HANGUP: "Plivo's hangup_url: record how the call ended",
    CallbackKind.DIAL_ACTION: "The Dial action URL: record the Dial's outcome, end the call",
    CallbackKind.DIAL_CALLBACK: "The Dial callbackUrl: record a B leg's event",
}
WEBHOOK_DESCRIPTION = (
    "Plivo's parameters as a form body (POST, application/x-www-form-urlencoded) or a"
    " query string (GET), signed with X-Plivo-Signature-V3 (or -Ma-V3) and its nonce."
    " A 200 means the callback is stored durably; X-Calltrail-Verdict says what it did to"
    " its call and X-Calltrail-Position where it is in the log. The body is Plivo XML."
)
WEBHOOK_ERRORS = {
    400: ResponseSpec(ErrorBody, description="bad_form: an unreadable form or a bad parameter"),
    403: ResponseSpec(ErrorBody, description="signature_missing or signature_mismatch"),
    413: ResponseSpec(ErrorBody, description="body_too_large: over CALLTRAIL_MAX_BODY_BYTES"),
    415: ResponseSpec(ErrorBody, description="unsupported_media_type: not a form body"),
    503: ResponseSpec(ErrorBody, description="store_unavailable: retry later"),
}


def webhook_handlers() -> list[HTTPRouteHandler]:
    """One route handler per callback kind, on every path that kind is served at."""
    return [
        route(
            ROUTES[kind],
            http_method=["GET", "POST"],
            status_code=200,
            name=f"webhook-{kind.value}",
            tags=["webhooks"],
            summary=SUMMARIES[kind],
            description=WEBHOOK_DESCRIPTION,
            responses=WEBHOOK_ERRORS,
        )(handler_for(kind))
        for kind in CallbackKind
    ]
