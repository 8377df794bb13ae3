"""The timeline view's table: ``calls``, one row per call, upserted as the call changes.

Every filter of the call list is served by an index that also holds the list's order
(first seen, then first position), so a filtered page is a range read however rare or
common the value, on the last page as on the first. A call's entries are not copied
here: they are its events in the log (``timeline.py``, ``queries.timeline_entries``).
"""

from __future__ import annotations

from typing import Any

from projections.building import BuildableView
from projections.sql import Batch, Cursor, upsert
from projections.timeline import CALL_COLUMNS, call_row

_CALLS_DDL = (
    "call_id TEXT PRIMARY KEY, call_uuid TEXT NOT NULL, first_position BIGINT NOT NULL,"
    " last_position BIGINT NOT NULL, first_seen_at BIGINT NOT NULL, direction TEXT,"
    " from_number TEXT, to_number TEXT, status TEXT, answered BOOLEAN NOT NULL,"
    " hangup_cause TEXT, hangup_cause_code INTEGER, hangup_cause_name TEXT,"
    " hangup_category TEXT, hangup_source TEXT, duration INTEGER, bill_duration INTEGER,"
    " started_at BIGINT, answered_at BIGINT, ended_at BIGINT, legs TEXT NOT NULL,"
    " dials TEXT NOT NULL, late INTEGER NOT NULL, conflicts INTEGER NOT NULL,"
    " events INTEGER NOT NULL, last_seen_at BIGINT NOT NULL, reconciled BOOLEAN NOT NULL"
)
# Set once, when a call is first written: where it sorts in the list.
_FIRST_ONLY = {"call_id", "call_uuid", "first_position", "first_seen_at"}
# The call list's filters, each indexed with the list's order after it.
FILTER_COLUMNS = ("status", "direction", "hangup_cause_code", "from_number", "to_number")
# Filters used together whose second value can be rare where the first is common (the
# account's own number is the From of every outbound call; a direction is half of them):
# each pair has an index of its own, so a rare combination is a range read too. Other
# pairs are served by the index of one of the two, in list order.
FILTER_PAIRS = (
    ("direction", "status"),
    ("direction", "hangup_cause_code"),
    ("from_number", "status"),
    ("to_number", "status"),
)
ORDER_COLUMNS = ("first_seen_at", "first_position")


class TimelineSql(BuildableView):
    """The timeline view: ``calls``, one row per call."""

    schema_version = 4  # 3: last_seen_at and reconciled (calltrail reconcile); 4: FILTER_PAIRS
    view_name = "timeline"
    tables = ("calls",)
    retired = ("entries",)  # a per-callback copy the timeline no longer keeps

    def table_statements(self) -> list[str]:
        """The timeline's table."""
        return [self.sql(f"CREATE TABLE IF NOT EXISTS {{p}}calls ({_CALLS_DDL})")]

    def index_statements(self) -> list[str]:
        """An index per filter and per pair of ``FILTER_PAIRS``, each followed by the list's
        order; one for the order alone."""
        order = ", ".join(ORDER_COLUMNS)
        statements = [f"CREATE INDEX IF NOT EXISTS {{i}}calls_seen ON {{p}}calls ({order})"]
        # The calls still open, by their latest callback: what reconciling looks up.
        statements.append(
            "CREATE INDEX IF NOT EXISTS {i}calls_open ON {p}calls (last_seen_at)"
            " WHERE status IS NULL OR status IN ('ringing', 'in-progress')"
        )
        statements += [
            f"CREATE INDEX IF NOT EXISTS {{i}}calls_by_{column} ON {{p}}calls ({column}, {order})"
            for column in FILTER_COLUMNS
        ]
        statements += [
            f"CREATE INDEX IF NOT EXISTS {{i}}calls_by_{first}_{second}"
            f" ON {{p}}calls ({first}, {second}, {order})"
            for first, second in FILTER_PAIRS
        ]
        return [self.sql(statement) for statement in statements]

    _UPSERT = upsert(
        "calls", CALL_COLUMNS, ["call_id"], [c for c in CALL_COLUMNS if c not in _FIRST_ONLY]
    )

    def _apply_rows(self, cursor: Cursor, batch: Batch) -> None:
        """Upsert each touched call's row."""
        self._write_stage(cursor, self.stage(batch))

    def stage(self, batch: Batch) -> list[tuple[Any, ...]]:
        """Each touched call's row as it stands now."""
        zone = self.account_tz
        return [
            call_row(call, key, first, last, zone)
            for key, (call, first, last) in batch.calls.items()
        ]

    def _write_stage(self, cursor: Cursor, staged: list[tuple[Any, ...]]) -> None:
        """Upsert the calls' rows."""
        if staged:
            cursor.executemany(self.sql(self._UPSERT), staged)
