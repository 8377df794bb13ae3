"""Reads of the timeline view for reconciling: the calls still open, and the calls a
Call API record ended (``calltrail reconcile``, ``/metrics``)."""

from __future__ import annotations

from datetime import datetime

from projections.sql import SqlView
from projections.times import to_micros

# The condition is the partial index's of ``timeline_sql.py``, which serves these reads.


def open_calls(view: SqlView, seen_before: datetime) -> list[str]:
    """The CallUUIDs of calls with no final status whose latest callback came before
    ``seen_before``, oldest first."""
    rows = view.rows(
        "SELECT call_uuid FROM {p}calls"
        " WHERE (status IS NULL OR status IN ('ringing', 'in-progress')) AND last_seen_at < ?"
        " ORDER BY last_seen_at, call_uuid",
        [to_micros(seen_before)],
    )
    return [row["call_uuid"] for row in rows]


def count_open(view: SqlView, seen_before: datetime) -> int:
    """How many calls ``open_calls`` would give."""
    rows = view.rows(
        "SELECT COUNT(*) AS n FROM {p}calls"
        " WHERE (status IS NULL OR status IN ('ringing', 'in-progress')) AND last_seen_at < ?",
        [to_micros(seen_before)],
    )
    return int(rows[0]["n"])


def count_reconciled(view: SqlView) -> int:
    """How many calls a Call API record ended (their final status came from it)."""
    rows = view.rows("SELECT COUNT(*) AS n FROM {p}calls WHERE reconciled", [])
    return int(rows[0]["n"])
