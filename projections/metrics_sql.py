"""The hangup-metrics view's tables: ``counters`` by hour, direction, status and cause, and
each ended call's ``contributions`` to them (``hangup_metrics.py`` says what a call adds).

A call's old contribution is taken back before its new one is added, so a callback that
changes an ended call moves it between counters instead of counting it twice. The live
path reads the old contribution back from the table; a rebuild knows it from the call it
folded before (``Batch.before``) and sums a batch's deltas per counter row first.
"""

from __future__ import annotations

from typing import Any

import msgspec

from projections.building import BuildableView
from projections.hangup_metrics import (
    KEY_COLUMNS,
    PDD_BOUNDS,
    VALUE_COLUMNS,
    Contribution,
    contributions,
)
from projections.sql import Batch, Cursor, upsert

_contributions_decoder = msgspec.json.Decoder(list[Contribution])
_objects_decoder = msgspec.json.Decoder(list[dict[str, Any]])
_contributions_encoder = msgspec.json.Encoder()

# A batch's counter deltas, each kept call's contributions (JSON), and the counter rows
# that lost a contribution (deleted if they reach zero calls).
Deltas = tuple[list[tuple[Any, ...]], list[tuple[str, str]], list[tuple[str, ...]]]


def decode_contributions(body: str | bytes) -> tuple[Contribution, ...]:
    """A kept call's contributions: JSON arrays, or JSON objects of the same fields (the
    form the 0.1.0 metrics view first wrote)."""
    try:
        return tuple(_contributions_decoder.decode(body))
    except msgspec.ValidationError:
        return tuple(Contribution(**old) for old in _objects_decoder.decode(body))


def _encoded(items: tuple[Contribution, ...]) -> str:
    return _contributions_encoder.encode(list(items)).decode()


class _Summed:
    """Deltas summed per counter row, for a rebuild's batch."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, ...], list[Any]] = {}  # key → name, calls, answered, talk, pdd
        self.emptied: set[tuple[str, ...]] = set()

    def add(self, items: tuple[Contribution, ...], sign: int) -> None:
        """Add (``sign`` 1) or take back (-1) what ``items`` contribute, in place."""
        for c in items:
            key = c.key()
            total = self.rows.get(key)
            if total is None:
                total = self.rows[key] = [c.cause_name, 0, 0, 0, [0] * len(PDD_BOUNDS)]
            else:
                total[0] = c.cause_name  # the last delta names the cause, as an upsert would
            total[1] += sign
            total[2] += sign * c.answered
            total[3] += sign * c.talk_seconds
            if c.pdd_index is not None:
                total[4][c.pdd_index] += sign
            if sign < 0:
                self.emptied.add(key)

    def deltas(self) -> list[tuple[Any, ...]]:
        """One delta per counter row, in key order: rebuild workers adding to the same rows
        never deadlock."""
        return [
            (*key, name, calls, answered, talk, *pdd)
            for key, (name, calls, answered, talk, pdd) in sorted(self.rows.items())
        ]


class MetricsSql(BuildableView):
    """The hangup-metrics view: ``counters`` and each ended call's ``contributions``."""

    view_name = "metrics"
    tables = ("counters", "contributions")

    def table_statements(self) -> list[str]:
        """The metrics tables."""
        keys = ", ".join(f"{c} TEXT NOT NULL" for c in KEY_COLUMNS)
        values = ", ".join(f"{c} BIGINT NOT NULL DEFAULT 0" for c in VALUE_COLUMNS)
        return [
            self.sql(
                f"CREATE TABLE IF NOT EXISTS {{p}}counters ({keys}, cause_name TEXT, {values},"
                f" PRIMARY KEY ({', '.join(KEY_COLUMNS)}))"
            ),
            self.sql(
                "CREATE TABLE IF NOT EXISTS {p}contributions (call_id TEXT PRIMARY KEY, body TEXT)"
            ),
        ]

    _ADD_COLUMNS = (*KEY_COLUMNS, "cause_name", *VALUE_COLUMNS)
    _ADD = (
        f"INSERT INTO {{p}}counters ({', '.join(_ADD_COLUMNS)})"
        f" VALUES ({', '.join('?' for _ in _ADD_COLUMNS)})"
        f" ON CONFLICT ({', '.join(KEY_COLUMNS)}) DO UPDATE SET cause_name = excluded.cause_name, "
        + ", ".join(f"{c} = {{p}}counters.{c} + excluded.{c}" for c in VALUE_COLUMNS)
    )
    _KEEP = upsert("contributions", ("call_id", "body"), ["call_id"], ["body"])

    def _apply_rows(self, cursor: Cursor, batch: Batch) -> None:
        """Replace each touched call's old contribution (read back) by its new one."""
        tz = self.account_tz
        new = {key: contributions(call, tz) for key, (call, _, _) in batch.calls.items()}
        old = self._kept(cursor, [key for key, value in new.items() if value])
        deltas: list[tuple[Any, ...]] = []
        kept: list[tuple[str, str]] = []
        for key, now in new.items():
            before = old.get(key, ())
            if now == before:
                continue
            deltas += [(*c.key(), c.cause_name, *c.values(-1)) for c in before]
            deltas += [(*c.key(), c.cause_name, *c.values(1)) for c in now]
            kept.append((key, _encoded(now)))
        emptied = sorted(
            {row[: len(KEY_COLUMNS)] for row in deltas if row[-len(VALUE_COLUMNS)] < 0}
        )
        self._write_stage(cursor, (deltas, kept, emptied))

    def stage(self, batch: Batch) -> Deltas:
        """As the live path, but old contributions come from ``batch.before`` (a rebuild
        folds every call itself), and deltas are summed per counter row."""
        tz = self.account_tz
        summed = _Summed()
        kept: list[tuple[str, str]] = []
        for key, (call, _, _) in batch.calls.items():
            now = contributions(call, tz)
            earlier = batch.before.get(key)
            before = contributions(earlier, tz) if earlier is not None else ()
            if now != before:
                summed.add(before, -1)
                summed.add(now, 1)
                kept.append((key, _encoded(now)))
        return summed.deltas(), kept, sorted(summed.emptied)

    def _write_stage(self, cursor: Cursor, staged: Deltas) -> None:
        """Add the deltas, keep the contributions, drop counter rows left with no call."""
        deltas, kept, emptied = staged
        if not deltas:
            return
        cursor.executemany(self.sql(self._ADD), deltas)
        cursor.executemany(self.sql(self._KEEP), kept)
        if emptied:
            # A row emptied by a moved contribution goes, as a replay would never write it.
            where = " AND ".join(f"{c} = ?" for c in KEY_COLUMNS)
            cursor.executemany(
                self.sql(f"DELETE FROM {{p}}counters WHERE {where} AND calls = 0"), emptied
            )

    def _kept(self, cursor: Cursor, keys: list[str]) -> dict[str, tuple[Contribution, ...]]:
        """The contributions the view holds for the calls ``keys``."""
        found: dict[str, tuple[Contribution, ...]] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            cursor.execute(
                self.sql(
                    f"SELECT call_id, body FROM {{p}}contributions WHERE call_id IN ({marks})"
                ),
                chunk,
            )
            for row in cursor.fetchall():
                found[row["call_id"]] = decode_contributions(row["body"])
        return found
