"""The timeline view's table: ``calls``, one row per call, upserted as the call changes.

A call's entries are not copied here: they are its events in the log (``timeline.py``,
``queries.timeline_entries``).
"""

from __future__ import annotations

from typing import Any

from projections.building import BuildableView
from projections.sql import Batch, Cursor, upsert
from projections.timeline import CALL_COLUMNS, call_row

_CALLS_DDL = (
    "call_id TEXT PRIMARY KEY, call_uuid TEXT NOT NULL, first_position BIGINT NOT NULL,"
    " last_position BIGINT NOT NULL, first_seen TEXT NOT NULL, direction TEXT,"
    " from_number TEXT, to_number TEXT, status TEXT, answered INTEGER, hangup_cause TEXT,"
    " hangup_cause_code TEXT, hangup_cause_name TEXT, hangup_source TEXT, duration INTEGER,"
    " bill_duration INTEGER, start_time TEXT, answer_time TEXT, end_time TEXT, legs TEXT,"
    " dials TEXT, late INTEGER, conflicts INTEGER, events INTEGER"
)
# Set once, when a call is first written: where it sorts in list order.
_FIRST_ONLY = {"call_id", "call_uuid", "first_position", "first_seen"}


class TimelineSql(BuildableView):
    """The timeline view: ``calls``, one row per call."""

    tables = ("calls",)
    retired = ("entries",)  # a per-callback copy the timeline no longer keeps

    def table_statements(self) -> list[str]:
        """The timeline's table."""
        return [self.sql(f"CREATE TABLE IF NOT EXISTS {{p}}calls ({_CALLS_DDL})")]

    def index_statements(self) -> list[str]:
        """The timeline's secondary indexes."""
        return [
            self.sql("CREATE INDEX IF NOT EXISTS {i}calls_first ON {p}calls (first_position)"),
            self.sql("CREATE INDEX IF NOT EXISTS {i}calls_seen ON {p}calls (first_seen)"),
        ]

    _UPSERT = upsert(
        "calls", CALL_COLUMNS, ["call_id"], [c for c in CALL_COLUMNS if c not in _FIRST_ONLY]
    )

    def _apply_rows(self, cursor: Cursor, batch: Batch) -> None:
        """Upsert each touched call's row."""
        self._write_stage(cursor, self.stage(batch))

    def stage(self, batch: Batch) -> list[tuple[Any, ...]]:
        """Each touched call's row as it stands now."""
        return [
            call_row(call, key, first, last) for key, (call, first, last) in batch.calls.items()
        ]

    def _write_stage(self, cursor: Cursor, staged: list[tuple[Any, ...]]) -> None:
        """Upsert the calls' rows."""
        if staged:
            cursor.executemany(self.sql(self._UPSERT), staged)
