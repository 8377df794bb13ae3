"""Read API parameters as the views compare them, or a 400 naming the parameter.

Times become UTC in the views' format; an instant outside the years 1 to 9999 once in
UTC (``0001-01-01T00:00:00+05:00``) cannot be compared and is refused. Text must hold no
NUL character: PostgreSQL cannot compare one, and no stored value holds one (webhooks
with a NUL are refused), so it could never match anyway.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from api.errors import ApiError

EARLIEST, LATEST = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)


def utc(moment: datetime | None, name: str) -> datetime | None:
    """A bound as an aware UTC datetime (naive input is taken as UTC); 400 naming ``name``
    if it falls outside the range UTC can express."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ApiError(
            400,
            "time_out_of_range",
            f"{name}={moment.isoformat()} is outside {EARLIEST.isoformat()} to"
            f" {LATEST.isoformat()} once in UTC",
        ) from None


def stamp(moment: datetime | None, name: str) -> str | None:
    """The view's ISO format for times (UTC, microseconds)."""
    found = utc(moment, name)
    return None if found is None else found.isoformat(timespec="microseconds")


def hour_bounds(since: datetime | None, until: datetime | None) -> tuple[str | None, str | None]:
    """Bucket bounds: from the hour holding ``since`` to the end of the hour holding ``until``."""
    start, end = utc(since, "since"), utc(until, "until")
    floor = start.replace(minute=0, second=0, microsecond=0) if start else None
    ceiling = None
    if end is not None:
        ceiling = end.replace(minute=0, second=0, microsecond=0)
        if ceiling != end:
            try:
                ceiling += timedelta(hours=1)
            except OverflowError:  # in the last hour there is: no bucket is later
                ceiling = None
    return (
        floor.isoformat() if floor else None,
        ceiling.isoformat() if ceiling else None,
    )


def refuse_nul(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """400 naming the first path or query parameter whose value holds a NUL character."""
    values = list(connection.path_params.items())
    query = connection.scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:  # the common case decodes nothing more
        values += connection.query_params.multi_items()
    for name, value in values:
        if isinstance(value, str) and "\x00" in value:
            raise ApiError(
                400,
                "bad_parameter",
                f"{name!r} holds a NUL character (U+0000), which no stored value holds",
            )
