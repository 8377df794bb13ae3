"""Errors the API answers with, as JSON, in one place: clear 4xx for bad input, 503 for outages.

A webhook never gets a 500 for something it sent, and a store outage is a 503 so that
Plivo (with ``#rp=5xx`` or ``#rp=all`` on the URL) retries it later.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from eventsourcing.persistence import PersistenceError
from litestar import Request, Response
from litestar.exceptions import HTTPException

from store.application import ContentionError
from store.writer import WriterStoppedError

log = logging.getLogger("calltrail.api")

AnyRequest = Request[Any, Any, Any]


class ErrorBody(msgspec.Struct):
    """The JSON body of every error reply (a superset of Litestar's own error shape)."""

    error: str
    detail: str
    status_code: int
    extra: dict[str, Any] | list[Any] | None = None


class ApiError(Exception):
    """An error with its HTTP status, a short machine code and a sentence for people."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


def error_response(
    status: int, code: str, detail: str, extra: dict[str, Any] | list[Any] | None = None
) -> Response[ErrorBody]:
    """A JSON error reply."""
    return Response(ErrorBody(code, detail, status, extra), status_code=status)


def api_error(_: AnyRequest, exc: ApiError) -> Response[ErrorBody]:
    """Reply with the error the handler chose."""
    return error_response(exc.status, exc.code, exc.detail)


def http_error(_: AnyRequest, exc: HTTPException) -> Response[ErrorBody]:
    """Litestar's own 4xx (unknown path, wrong method, …) in the same JSON shape."""
    code = "_".join(str(exc.detail).lower().split()[:3]) or "http_error"
    extra = exc.extra if isinstance(exc.extra, dict | list) else None
    return error_response(exc.status_code, code, str(exc.detail), extra)


def store_unavailable(request: AnyRequest, exc: Exception) -> Response[ErrorBody]:
    """The store could not commit: nothing was acknowledged, so Plivo may retry."""
    log.error("store unavailable at %s: %s", request.url.path, exc)
    return error_response(503, "store_unavailable", "the event store is unavailable; retry later")


EXCEPTION_HANDLERS = {
    ApiError: api_error,
    HTTPException: http_error,
    PersistenceError: store_unavailable,
    ContentionError: store_unavailable,
    WriterStoppedError: store_unavailable,
}
