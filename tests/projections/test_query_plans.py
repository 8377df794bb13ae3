"""Every filter of the call list is a range read of an index that holds the list's order.

The plans are the stores' own: SQLite's ``EXPLAIN QUERY PLAN`` and PostgreSQL's
``EXPLAIN``. PostgreSQL would scan a table this small whatever its indexes, so its plans
are asked for with sequential scans, bitmap scans and sorts priced out: what it then
chooses is an index scan only if one can serve the filter in list order; a sort or a
sequential scan (still possible, at a prohibitive cost) fails the test.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from projections.building import BuildableView
from projections.queries import CallFilter, Order, calls_query
from projections.times import to_micros
from projections.views import open_view
from store.persistence import parse_database_url

SINCE = datetime(2026, 3, 1, 8, tzinfo=UTC)
UNTIL = SINCE + timedelta(days=2)
CURSOR = f"{to_micros(SINCE + timedelta(days=1))}.12345"  # a page's end, inside the range

EQUALS: dict[str, dict[str, Any]] = {
    "status": {"status": "failed"},
    "direction": {"direction": "inbound"},
    "hangup_cause_code": {"hangup_cause_code": 3010},
    "from_number": {"from_number": "(91) 80-3573 5900"},  # compared as +918035735900
    "to_number": {"to_number": "14155550100"},
}
TIMES: dict[str, dict[str, Any]] = {
    "any time": {},
    "since": {"since": SINCE},
    "until": {"until": UNTIL},
    "since and until": {"since": SINCE, "until": UNTIL},
}
# Pairs a user filters by together where one value can be rare and the other common (the
# account's own number is the From of every outbound call): served by both columns.
PAIRS = {
    ("direction", "status"),
    ("direction", "hangup_cause_code"),
    ("from_number", "status"),
    ("status", "to_number"),
}
EQUAL_SETS = [combo for size in (0, 1, 2) for combo in itertools.combinations(sorted(EQUALS), size)]


def expected_columns(equals: tuple[str, ...]) -> list[set[str]]:
    """The filter columns an index must match: a pair with an index of its own, both of
    them; any other pair, either one."""
    if len(equals) == 2 and equals not in PAIRS:
        return [{equals[0]}, {equals[1]}]
    return [set(equals)]


@pytest.fixture
def timeline(database_url: str) -> Iterator[BuildableView]:
    """The timeline view, its tables and indexes made as the service makes them."""
    view = open_view("timeline", parse_database_url(database_url).eventsourcing_env("timeline"))
    yield view
    view.close()


def sqlite_plan(view: BuildableView, query: str, params: list[Any]) -> tuple[str, str]:
    """The index used and its condition; fails on a scan or a sort."""
    details = [row["detail"] for row in view.rows(f"EXPLAIN QUERY PLAN {query}", params)]
    assert len(details) == 1, details  # one step: no "USE TEMP B-TREE FOR ORDER BY"
    detail = details[0]
    assert detail.startswith(("SEARCH calls USING INDEX", "SCAN calls USING INDEX")), detail
    index = detail.split(" USING INDEX ")[1].split()[0]
    condition = detail.partition("(")[2]
    return index, condition


def postgres_plan(view: BuildableView, query: str, params: list[Any]) -> tuple[str, str]:
    """The index used and its condition; fails on a scan or a sort."""
    with view.transaction(commit=False) as cursor:
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute(view.sql(f"EXPLAIN (FORMAT JSON) {query}"), tuple(params))
        row = cursor.fetchone()
    plan = row["QUERY PLAN"]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    top = plan[0]["Plan"]
    assert top["Node Type"] == "Limit", top
    (scan,) = top["Plans"]
    assert scan["Node Type"] in ("Index Scan", "Index Only Scan"), scan["Node Type"]
    assert "Plans" not in scan, scan  # nothing under it: no sort, no second scan
    assert scan["Relation Name"].endswith("calls"), scan
    return scan["Index Name"], scan.get("Index Cond", "")


@pytest.mark.parametrize("equals", EQUAL_SETS, ids=lambda equals: "+".join(equals) or "none")
def test_every_filter_is_a_range_read_in_list_order(
    timeline: BuildableView, database_url: str, equals: tuple[str, ...]
) -> None:
    plan = postgres_plan if database_url.startswith("postgresql") else sqlite_plan
    orders: tuple[Order, ...] = ("asc", "desc")
    for time, order, cursor in itertools.product(TIMES, orders, (None, CURSOR)):
        where = CallFilter(
            **{k: v for name in equals for k, v in EQUALS[name].items()}, **TIMES[time]
        )
        query, params = calls_query(where, cursor=cursor, limit=100, order=order)
        case = f"{equals} {time} {order} cursor={cursor}"
        index, condition = plan(timeline, query, params)
        if not equals and time == "any time" and cursor is None:
            assert "seen" in index, case  # the whole list: its order's own index, LIMIT stops it
            continue
        assert any(all(c in condition for c in columns) for columns in expected_columns(equals)), (
            case,
            index,
            condition,
        )
        if time != "any time":
            assert "first_seen_at" in condition, (case, index, condition)
        if cursor is not None:
            # The next page starts at the cursor (inside the time range): a range read from
            # it, not from ``since`` through every page before it.
            assert "first_position" in condition, (case, index, condition)
