"""The Call API's list filters and pages, as the fake Plivo account applies them.

``end_time`` filters take UTC times (``YYYY-MM-DD HH:MM[:ss[.uuuuuu]]``). With none,
Plivo searches the last seven days; with one bound only, thirty days from (or to) it; a
range wider than thirty days is refused with a 400. Numbers match by prefix, with or
without the ``+``. Pages hold at most 20 records; ``meta.next`` carries the next
``offset`` (or an opaque ``cursor``, which some Plivo deployments serve instead).
"""

from __future__ import annotations

import base64
import operator
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from simulator.plivo_records import Record, end_of

MAX_LIMIT = 20
DEFAULT_WINDOW = timedelta(days=7)
MAX_WINDOW = timedelta(days=30)

_OPS: Mapping[str, Callable[[Any, Any], bool]] = {
    "": operator.eq,
    "__gt": operator.gt,
    "__gte": operator.ge,
    "__lt": operator.lt,
    "__lte": operator.le,
}
_EXACT = ("call_direction", "hangup_source", "parent_call_uuid")
_PREFIX = ("from_number", "to_number")
_PAGING = ("limit", "offset", "cursor")

Keep = Callable[[Record], bool]


class QueryError(ValueError):
    """A filter or page the Call API answers with a 400."""


def utc(text: str, name: str) -> datetime:
    """A filter time: naive values are UTC, as Plivo expects them."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise QueryError(f"{name} expects YYYY-MM-DD HH:MM[:ss[.uuuuuu]], got {text!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def end_window(query: Mapping[str, str], now: datetime) -> dict[str, datetime]:
    """The ``end_time`` bounds asked for, completed with Plivo's default windows."""
    names = {op: "end_time" + op for op in _OPS}
    bounds = {op: utc(query[name], name) for op, name in names.items() if name in query}
    if "" in bounds:
        return bounds
    lower = bounds.get("__gte") or bounds.get("__gt")
    upper = bounds.get("__lte") or bounds.get("__lt")
    if lower is None and upper is None:
        bounds["__gte"] = now - DEFAULT_WINDOW
    elif upper is None and lower is not None:
        bounds["__lte"] = lower + MAX_WINDOW
    elif lower is None and upper is not None:
        bounds["__gte"] = upper - MAX_WINDOW
    elif lower is not None and upper is not None and upper - lower > MAX_WINDOW:
        raise QueryError("the end_time range may span at most 30 days")
    return bounds


def keep(query: Mapping[str, str], now: datetime) -> Keep:
    """A test for records that every filter in ``query`` accepts."""
    tests = [_check(end_of, _OPS[op], bound) for op, bound in end_window(query, now).items()]
    tests += [_check(operator.itemgetter(n), operator.eq, query[n]) for n in _EXACT if n in query]
    tests += [
        _check(_digits(n), str.startswith, query[n].lstrip("+")) for n in _PREFIX if n in query
    ]
    for name in ("hangup_cause_code", "bill_duration"):
        for op, test in _OPS.items():
            if name + op in query:
                value = _integer(query[name + op], name + op)
                tests.append(_check(operator.itemgetter(name), test, value))
    return lambda record: all(test(record) for test in tests)


def _check(get: Callable[[Record], Any], test: Callable[[Any, Any], bool], value: Any) -> Keep:
    return lambda record: test(get(record), value)


def _digits(name: str) -> Callable[[Record], str]:
    return lambda record: str(record[name]).lstrip("+")


def page_bounds(query: Mapping[str, str]) -> tuple[int, int]:
    """The page asked for: ``(limit, offset)``, the offset read from a cursor if given."""
    limit = _integer(query.get("limit", str(MAX_LIMIT)), "limit")
    if not 0 < limit <= MAX_LIMIT:
        raise QueryError(f"limit must be between 1 and {MAX_LIMIT}")
    if query.get("cursor"):
        return limit, _from_cursor(query["cursor"])
    offset = _integer(query.get("offset", "0"), "offset")
    if offset < 0:
        raise QueryError("offset must be 0 or more")
    return limit, offset


def page(found: list[Record], query: Mapping[str, str], path: str, cursors: bool) -> dict[str, Any]:
    """One page of ``found`` with Plivo's ``meta`` (``next``/``previous`` as relative URLs)."""
    limit, offset = page_bounds(query)
    filters = {k: v for k, v in query.items() if k not in _PAGING}

    def link(start: int) -> str:
        where: dict[str, str | int] = {"limit": limit}
        where |= {"cursor": _to_cursor(start)} if cursors else {"offset": start}
        return f"{path}?{urlencode(filters | where)}"

    more = offset + limit < len(found)
    meta = {
        "limit": limit,
        "next": link(offset + limit) if more else None,
        "offset": offset,
        "previous": link(max(0, offset - limit)) if offset else None,
        "total_count": len(found),
    }
    return {"meta": meta, "objects": found[offset : offset + limit]}


def _integer(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise QueryError(f"{name} must be an integer, got {text!r}") from None


def _to_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _from_cursor(cursor: str) -> int:
    try:
        kind, _, number = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind == "offset" and number.isdigit():
            return int(number)
    except ValueError:
        pass
    raise QueryError("invalid cursor")
