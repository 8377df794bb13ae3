"""Read queries on the views, for the read API: filtered call lists, timelines, counters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent

from domain.call import Call
from domain.ids import call_id
from projections.log import call_events
from projections.sql import SqlView
from projections.timeline import Entry, entry_of


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
    # By the primary key: the id is the uuid5 of the CallUUID (no index on call_uuid).
    rows = view.rows(
        "SELECT * FROM {p}calls WHERE call_id = ? AND call_uuid = ?",
        [str(call_id(call_uuid)), call_uuid],
    )
    return rows[0] if rows else None


def timeline_entries(app: Application[UUID], call: Mapping[str, Any]) -> list[Entry]:
    """The entries of a call (its ``calls`` row) in log order: its callback events in the
    log, up to the last position the row reflects, so entries and row always agree."""
    call_id = UUID(call["call_id"])
    entries = []
    for position, _, version, topic, state in call_events(app, call_id, call["last_position"]):
        event = app.mapper.to_domain_event(StoredEvent(call_id, version, topic, state))
        if isinstance(event, Call.CallbackEvent):
            entries.append(entry_of(event, position))
    return entries


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
