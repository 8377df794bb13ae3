"""Every error the service answers with, in one shape: ``{"error": code, "detail": text}``.

``error`` is a stable snake_case code a client can branch on (the codes are listed in
``docs/api.md``); ``detail`` is a sentence for people. Bad input is a clear 4xx and stores
nothing; a store outage is a 503, so that Plivo (with ``#rp=5xx`` or ``#rp=all`` on the
URL) retries it later; anything unforeseen is a 500 whose details go to the log only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, get_args

import msgspec
from eventsourcing.persistence import PersistenceError
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from projections.metric_queries import Bucket
from projections.queries import Order
from projections.records import DIRECTIONS, STATUSES
from store.application import ContentionError
from store.writer import WriterStoppedError

log = logging.getLogger("calltrail.api")

AnyRequest = Request[Any, Any, Any]

# The code of each status Litestar itself may answer with.
STATUS_CODES: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}
# The values an enumerated parameter accepts, named in its 400.
ALLOWED: Mapping[str, tuple[str, ...]] = {
    "status": STATUSES,
    "direction": DIRECTIONS,
    "bucket": get_args(Bucket),
    "order": get_args(Order),
}


class ErrorBody(msgspec.Struct):
    """The JSON body of every error reply."""

    error: str
    detail: str


class ApiError(Exception):
    """An error with its HTTP status, a stable code and a sentence for people."""

    def __init__(
        self, status: int, code: str, detail: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})


def error_response(
    status: int, code: str, detail: str, headers: Mapping[str, str] | None = None
) -> Response[ErrorBody]:
    """A JSON error reply."""
    return Response(ErrorBody(code, detail), status_code=status, headers=dict(headers or {}))


def api_error(_: AnyRequest, exc: ApiError) -> Response[ErrorBody]:
    """Reply with the error the handler chose."""
    return error_response(exc.status, exc.code, exc.detail, exc.headers)


def invalid_parameter(_: AnyRequest, exc: ValidationException) -> Response[ErrorBody]:
    """A query or path parameter Litestar could not read: name it, and what it accepts."""
    problems = exc.extra if isinstance(exc.extra, list) else []
    details = [_problem(item) for item in problems if isinstance(item, dict)]
    detail = "; ".join(details) or str(exc.detail)
    return error_response(400, "invalid_parameter", detail)


def _problem(item: dict[str, Any]) -> str:
    key, message = str(item.get("key", "")), str(item.get("message", "invalid"))
    if key in ALLOWED and message.startswith("Invalid enum value"):
        found = message.removeprefix("Invalid enum value ")
        message = f"expected one of {', '.join(ALLOWED[key])}, got {found}"
    return f"{key}: {message}" if key else message


def http_error(_: AnyRequest, exc: HTTPException) -> Response[ErrorBody]:
    """Litestar's own errors (unknown path, wrong method, body too large…) in our shape."""
    code = STATUS_CODES.get(exc.status_code, "http_error")
    detail = str(exc.detail) if exc.detail else code.replace("_", " ")
    headers = exc.headers or {}
    if exc.status_code == 401:
        headers = {**headers, "WWW-Authenticate": 'Bearer realm="calltrail"'}
    return error_response(exc.status_code, code, detail, headers)


def store_unavailable(request: AnyRequest, exc: Exception) -> Response[ErrorBody]:
    """The store could not commit: nothing was acknowledged, so Plivo may retry."""
    log.error("store unavailable at %s: %s", request.url.path, exc)
    return error_response(503, "store_unavailable", "the event store is unavailable; retry later")


def internal_error(request: AnyRequest, exc: Exception) -> Response[ErrorBody]:
    """Anything unforeseen: logged whole, answered without internals."""
    log.exception("unexpected error at %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "an unexpected error; it has been logged")


EXCEPTION_HANDLERS = {
    ApiError: api_error,
    ValidationException: invalid_parameter,
    HTTPException: http_error,
    PersistenceError: store_unavailable,
    ContentionError: store_unavailable,
    WriterStoppedError: store_unavailable,
    Exception: internal_error,
}
