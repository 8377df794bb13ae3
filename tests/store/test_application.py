"""The call log on each real store: durable records, duplicates, races between writers."""

from __future__ import annotations

import random
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from domain.call import Call
from domain.callbacks import Callback
from domain.status import CallStatus, Verdict
from store.application import CallLog, open_call_log
from store.persistence import parse_database_url
from tests.factories import inbound, outbound


def stored_events(app: CallLog) -> int:
    """How many events the store holds, read through the application's notification log."""
    return len(app.recorder.select_notifications(start=None, limit=1_000_000))


def test_records_each_distinct_callback_once_and_survives_reopening(database_url: str) -> None:
    spec = outbound(CallStatus.COMPLETED, losers=1)
    app = open_call_log(database_url)
    results = [app.record(c) for c in [*spec.callbacks, spec.callbacks[-1]]]
    assert results[-1].verdict is Verdict.DUPLICATE
    assert results[-1].position is None
    positions = [r.position or 0 for r in results[:-1]]
    assert positions == sorted(positions)
    assert 0 not in positions
    assert stored_events(app) == 1 + len(spec.callbacks)
    reopened = open_call_log(database_url)
    assert reopened.call(spec.call_uuid).summary() == app.call(spec.call_uuid).summary()
    assert reopened.record(spec.callbacks[0]).verdict is Verdict.DUPLICATE


def test_sixteen_threads_on_one_call_store_every_callback_exactly_once(
    database_url: str,
) -> None:
    spec = outbound(CallStatus.COMPLETED, losers=2)
    app = open_call_log(database_url)

    def deliver(seed: int) -> list[Verdict]:
        order = list(spec.callbacks)
        random.Random(seed).shuffle(order)
        return [app.record(c).verdict for c in order]

    with ThreadPoolExecutor(max_workers=16) as pool:
        verdicts = [v for run in pool.map(deliver, range(16)) for v in run]
    stored = [v for v in verdicts if v is not Verdict.DUPLICATE]
    assert len(stored) == len(spec.callbacks)
    assert stored_events(app) == 1 + len(spec.callbacks)
    summary = open_call_log(database_url).call(spec.call_uuid).summary()
    assert (summary.status, summary.answered) == (CallStatus.COMPLETED, True)


def test_two_instances_on_one_store_race_without_loss(database_url: str) -> None:
    spec = inbound(answered=True, losers=1)
    first, second = open_call_log(database_url), open_call_log(database_url)

    def deliver(app: CallLog) -> None:
        for callback in spec.callbacks:
            app.record(callback)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(deliver, [first, second, first, second]))
    assert stored_events(first) == 1 + len(spec.callbacks)
    assert second.call(spec.call_uuid).summary().status is CallStatus.COMPLETED


def test_a_batch_is_one_transaction_with_a_position_per_stored_callback(
    database_url: str,
) -> None:
    specs = [outbound(CallStatus.BUSY), inbound(answered=True), outbound(CallStatus.COMPLETED)]
    batch = [c for spec in specs for c in spec.callbacks]
    batch.append(batch[0])
    app = open_call_log(database_url)
    results = app.record_batch(batch)
    assert [r.verdict for r in results].count(Verdict.DUPLICATE) == 1
    positions = [r.position for r in results if r.position is not None]
    assert len(set(positions)) == len(batch) - 1
    assert stored_events(app) == len(specs) + len(batch) - 1


class RacedCallLog(CallLog):
    """A call log whose first save is beaten by a rival writer on the same store."""

    name = "CallLog"  # the same tables as the rival's
    rival: CallLog
    interloper: Callback | None = None

    def _race(self) -> None:
        if self.interloper is not None:
            self.rival.record(self.interloper)
            self.interloper = None

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        self._race()
        return super().save(*objs, **kwargs)

    def _save_batch(self, calls: list[Call]) -> dict[int, int]:
        self._race()
        return super()._save_batch(calls)


def test_a_batch_that_loses_a_race_falls_back_to_one_by_one(database_url: str) -> None:
    spec = outbound(CallStatus.COMPLETED)
    other = outbound(CallStatus.BUSY)
    env = parse_database_url(database_url).eventsourcing_env()
    app = RacedCallLog(env=env)
    app.rival = open_call_log(database_url)
    app.record(spec.callbacks[0])
    app.interloper = spec.callbacks[1]
    results = app.record_batch([*spec.callbacks[1:], *other.callbacks])
    assert results[0].verdict is Verdict.DUPLICATE  # the rival stored it first
    assert all(r.position is not None for r in results[1:])
    assert stored_events(app) == 2 + len(spec.callbacks) + len(other.callbacks)
    assert app.call(other.call_uuid).summary().status is CallStatus.BUSY


def test_sqlite_commits_with_full_durability(sqlite_url: str) -> None:
    app = open_call_log(sqlite_url)
    app.record(outbound(CallStatus.BUSY).callbacks[0])
    path = parse_database_url(sqlite_url).sqlite_file("events")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_the_default_sqlite_file_is_created_with_its_folder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'deep' / 'calls.db'}"
    open_call_log(url).record(outbound(CallStatus.BUSY).callbacks[0])
    assert (tmp_path / "deep" / "calls.db").is_file()


@pytest.mark.parametrize(
    "url", ["sqlite://relative.db", "mysql://x@y/z", "postgresql://h/db", "postgresql://u@h/"]
)
def test_unusable_database_urls_are_refused_with_the_reason(url: str) -> None:
    with pytest.raises(ValueError, match="expected"):
        parse_database_url(url)


def test_a_batch_with_a_call_this_process_has_not_cached_still_lands(database_url: str) -> None:
    known = outbound(CallStatus.COMPLETED)
    writer = open_call_log(database_url)
    for callback in known.callbacks[:2]:
        writer.record(callback)
    restarted = open_call_log(database_url)  # empty cache: the call looks new to it
    fresh = outbound(CallStatus.BUSY)
    results = restarted.record_batch([known.callbacks[1], known.callbacks[-1], *fresh.callbacks])
    assert [r.verdict for r in results[:2]] == [Verdict.DUPLICATE, Verdict.ADVANCED]
    assert stored_events(restarted) == 1 + 3 + 1 + len(fresh.callbacks)
    assert restarted.call(known.call_uuid).version == 4
