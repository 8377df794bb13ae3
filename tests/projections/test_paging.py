"""Paging the call list with a time range: every call of the range once, in list order,
whichever bound (the range's or the cursor's) a page starts from."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.building import BuildableView
from projections.queries import CallFilter, Order, list_calls
from projections.times import from_micros
from projections.views import open_view
from store.persistence import parse_database_url

SECOND = 1_000_000
BASE = 1_772_352_000 * SECOND  # 2026-03-01T08:00:00Z


@pytest.fixture(scope="module")
def timeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuildableView]:
    """A timeline of 60 calls, several first seen in the same second (ties by position)."""
    path = tmp_path_factory.mktemp("paging") / "calltrail.db"
    view = open_view(
        "timeline", parse_database_url(f"sqlite:///{path}").eventsourcing_env("timeline")
    )
    rows = [
        (f"id-{position}", f"call-{position}", position, position, seen, seen)
        for position in range(1, 61)
        for seen in [BASE + (position // 3) * SECOND]
    ]
    with view.transaction(commit=True) as cursor:
        cursor.executemany(
            view.sql(
                "INSERT INTO {p}calls (call_id, call_uuid, first_position, last_position,"
                " first_seen_at, last_seen_at, answered, legs, dials, late, conflicts, events,"
                " reconciled) VALUES (?, ?, ?, ?, ?, ?, FALSE, '[]', '[]', 0, 0, 1, FALSE)"
            ),
            rows,
        )
    yield view
    view.close()


def moment(second: int | None) -> datetime | None:
    return None if second is None else from_micros(BASE + second * SECOND)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    since=st.none() | st.integers(-2, 22),
    until=st.none() | st.integers(-2, 22),
    order=st.sampled_from(["asc", "desc"]),
    limit=st.integers(1, 7),
)
def test_pages_hold_each_call_of_the_range_once_in_order(
    timeline: BuildableView, since: int | None, until: int | None, order: Order, limit: int
) -> None:
    where = CallFilter(since=moment(since), until=moment(until))
    expected = [
        f"call-{position}"
        for position in range(1, 61)
        if (since is None or position // 3 >= since) and (until is None or position // 3 < until)
    ]
    if order == "desc":
        expected.reverse()
    seen: list[str] = []
    cursor = None
    for _ in itertools.count():
        page = list_calls(timeline, where, cursor=cursor, limit=limit, order=order)
        seen += [call.call_uuid for call in page.calls]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == expected
