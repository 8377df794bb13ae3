"""Read queries on the views, for the read API: filtered call lists, timelines, counters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from projections.views import SqlView


@dataclass(frozen=True, slots=True)
class CallFilter:
    """Filters of a list of calls; ``None`` means any."""

    status: str | None = None
    direction: str | None = None
    hangup_cause_code: str | None = None
    from_number: str | None = None
    to_number: str | None = None
    since: str | None = None  # ISO 8601 UTC, on first_seen
    until: str | None = None


def timeline_calls(
    view: SqlView, where: CallFilter, after: int, limit: int
) -> list[Mapping[str, Any]]:
    """Calls matching ``where`` in log order (``first_position``), after the cursor ``after``."""
    clauses: list[str] = ["first_position > ?"]
    params: list[Any] = [after]
    for column, value in (
        ("status", where.status),
        ("direction", where.direction),
        ("hangup_cause_code", where.hangup_cause_code),
        ("from_number", where.from_number),
        ("to_number", where.to_number),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if where.since is not None:
        clauses.append("first_seen >= ?")
        params.append(where.since)
    if where.until is not None:
        clauses.append("first_seen < ?")
        params.append(where.until)
    query = (
        f"SELECT * FROM {{p}}calls WHERE {' AND '.join(clauses)} ORDER BY first_position LIMIT ?"
    )
    return view.rows(query, [*params, limit])


def timeline_call(view: SqlView, call_uuid: str) -> Mapping[str, Any] | None:
    """One call's summary row, or ``None``."""
    rows = view.rows("SELECT * FROM {p}calls WHERE call_uuid = ?", [call_uuid])
    return rows[0] if rows else None


def timeline_entries(view: SqlView, call_id: str) -> list[Mapping[str, Any]]:
    """One call's entries in log order."""
    return view.rows("SELECT * FROM {p}entries WHERE call_id = ? ORDER BY position", [call_id])


def metric_counters(
    view: SqlView, scope: str, since: str | None, until: str | None, direction: str | None
) -> list[Mapping[str, Any]]:
    """Counter rows of ``scope`` ("call" or "leg") with buckets in [since, until)."""
    clauses: list[str] = ["scope = ?"]
    params: list[Any] = [scope]
    if since is not None:
        clauses.append("bucket >= ?")
        params.append(since)
    if until is not None:
        clauses.append("bucket < ?")
        params.append(until)
    if direction is not None:
        clauses.append("direction = ?")
        params.append(direction)
    query = f"SELECT * FROM {{p}}counters WHERE {' AND '.join(clauses)} ORDER BY bucket"
    return view.rows(query, params)
