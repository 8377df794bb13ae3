"""What every ``/v1`` read shares: the bearer-key guard, waiting for a view to reach a
position, time bounds, masking, and the documented error replies.

Every response carries the log position its view reflects; ``min_position`` waits,
bounded, for the view to reach a position, so a client reads its own writes without
sleeping.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated, Any, TypeVar

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import QueryParameter
from litestar.types import Guard

from api.errors import ApiError, ErrorBody
from projections.metric_queries import Bucket
from projections.queries import Order
from projections.records import Direction, Status
from projections.sql import SqlView
from projections.times import MOMENT_HELP, parse_moment
from service.settings import Settings
from store.application import CallLog

MAX_POSITION = 2**53 - 1  # fits both stores and every JSON number parser exactly
ERRORS = {
    400: ResponseSpec(ErrorBody, description="invalid_parameter: the detail names it"),
    401: ResponseSpec(ErrorBody, description="unauthorized: a missing or unknown API key"),
    404: ResponseSpec(ErrorBody, description="unknown_call: no such call"),
    409: ResponseSpec(
        ErrorBody, description="position_not_reached: min_position is past the log's end"
    ),
    503: ResponseSpec(
        ErrorBody, description="view_behind: the view has not reached min_position in time"
    ),
}
StatusParam = Annotated[Status | None, QueryParameter(description="only calls in this status")]
DirectionParam = Annotated[
    Direction | None, QueryParameter(description="only inbound, or only outbound, calls")
]
OrderParam = Annotated[
    Order,
    QueryParameter(
        description="asc: in the order calltrail first saw the calls; desc: newest first"
    ),
]
BucketParam = Annotated[Bucket, QueryParameter(description="the KPIs' period: an hour or a day")]
MinPosition = Annotated[
    int,
    QueryParameter(
        ge=0,
        le=MAX_POSITION,
        description="wait (CALLTRAIL_READ_WAIT_MS, 5 s) for the view to reach this position",
    ),
]


def api_key_guard(keys: tuple[str, ...]) -> Guard:
    """A guard answering 401 unless ``Authorization: Bearer <key>`` holds one of ``keys``."""
    encoded = [key.encode() for key in keys]

    def require_api_key(
        connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        scheme, _sep, given = connection.headers.get("authorization", "").partition(" ")
        supplied = given.strip().encode()
        matched = False
        for key in encoded:  # every key compared, in constant time
            matched |= hmac.compare_digest(key, supplied)
        if scheme.lower() != "bearer" or not matched:
            raise NotAuthorizedException("a valid 'Authorization: Bearer <key>' header is required")

    return require_api_key


V = TypeVar("V", bound=SqlView)


def view_at(view: V, call_log: CallLog, settings: Settings, min_position: int | None) -> V:
    """``view``, once it reflects at least ``min_position`` (else 409 or 503)."""
    if min_position:
        head = int(call_log.recorder.max_notification_id() or 0)
        if min_position > head:
            raise ApiError(
                409,
                "position_not_reached",
                f"min_position {min_position} is past the log's end ({head})",
            )
        try:
            view.wait(CallLog.name, min_position, timeout=settings.read_wait_ms / 1000)
        except TimeoutError:
            raise ApiError(
                503, "view_behind", f"the view has not reached {min_position} yet"
            ) from None
    return view


def position(view: SqlView) -> int:
    """The last log position the view has applied."""
    return view.position(CallLog.name)


def parse_time(name: str, text: str | None) -> datetime | None:
    """A time query parameter as an aware UTC datetime; a 400 naming ``name`` when it is
    not one (``MOMENT_HELP``)."""
    if text is None:
        return None
    try:
        return parse_moment(text)
    except ValueError as error:
        raise ApiError(400, "invalid_parameter", f"{name}: {error}") from None


TIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$"
)
TimeParam = Annotated[
    str | None,
    QueryParameter(
        description=MOMENT_HELP,
        pattern=TIME_PATTERN,
        examples=[Example(value="2026-12-02"), Example(value="2026-12-02T08:00:00Z")],
    ),
]


def refuse_nul(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """400 naming the first path or query parameter whose value holds a NUL character:
    PostgreSQL cannot compare one, and no stored value holds one (webhooks with a NUL are
    refused), so it could never match."""
    values = list(connection.path_params.items())
    query = connection.scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:  # the common case decodes nothing more
        values += connection.query_params.multi_items()
    for name, value in values:
        if isinstance(value, str) and "\x00" in value:
            raise ApiError(
                400,
                "invalid_parameter",
                f"{name}: holds a NUL character (U+0000), which no stored value holds",
            )
