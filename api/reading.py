"""What every ``/v1`` read shares: the bearer-key guard, waiting for a view to reach a
position, time bounds, masking, and the documented error replies.

Every response carries the log position its view reflects; ``min_position`` waits,
bounded, for the view to reach a position, so a client reads its own writes without
sleeping.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.openapi import ResponseSpec
from litestar.params import QueryParameter
from litestar.types import Guard

from api.errors import ApiError, ErrorBody
from projections.sql import SqlView
from service.settings import Settings
from store.application import CallLog

MAX_POSITION = 2**53 - 1  # fits both stores and every JSON number parser exactly
ERRORS = {
    401: ResponseSpec(ErrorBody, description="missing or unknown API key"),
    404: ResponseSpec(ErrorBody, description="no such call"),
    409: ResponseSpec(ErrorBody, description="min_position is past the end of the log"),
    503: ResponseSpec(ErrorBody, description="the view has not reached min_position in time"),
}
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


def mask(number: str, on: bool) -> str:
    """Hide all but the last four characters of a number when masking is on."""
    return number if not on or len(number) <= 4 else "•" * (len(number) - 4) + number[-4:]


def utc(moment: datetime | None) -> datetime | None:
    """A bound as an aware UTC datetime (naive input is taken as UTC)."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def stamp(moment: datetime | None) -> str | None:
    """The view's ISO format for times (UTC, microseconds)."""
    found = utc(moment)
    return None if found is None else found.isoformat(timespec="microseconds")
