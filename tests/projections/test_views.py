"""Timeline and metrics views on each store: content, exactly-once, rebuild, restart."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from eventsourcing.persistence import Tracking

from domain.call import Call
from domain.callbacks import CallbackKind
from domain.status import TERMINAL, CallStatus
from projections.hangup_metrics import PDD_BOUNDS, contributions
from projections.metric_queries import Bucket, kpi_buckets
from projections.metrics_sql import decode_contributions
from projections.queries import call_record, timeline_entries
from projections.ratios import CounterRow, kpis, user_outcome
from projections.rebuild import rebuild_views
from projections.runner import ViewRunner
from projections.sql import Batch, StalePositionError
from store.application import CallLog
from tests.factories import CallSpec, cb, inbound, outbound
from tests.projections.conftest import Views

Runner = Callable[[], ViewRunner]


def mixed_calls(seed: int = 7) -> list[CallSpec]:
    rng = random.Random(seed)
    specs = [outbound(s, losers=rng.randint(0, 2)) for s in sorted(TERMINAL)]
    specs += [inbound(answered=True, losers=1), inbound(answered=False)]
    return specs


def unfinished_calls() -> list[CallSpec]:
    """Calls still going when the log ends: one ringing, one answered and dialling."""
    ringing, talking = outbound(CallStatus.NO_ANSWER), outbound(CallStatus.COMPLETED, losers=1)
    ringing.callbacks = ringing.callbacks[:1]
    talking.callbacks = [c for c in talking.callbacks if c.kind is not CallbackKind.HANGUP]
    return [ringing, talking]


def record_shuffled(call_log: CallLog, specs: list[CallSpec], seed: int = 3) -> None:
    callbacks = [c for spec in specs for c in spec.callbacks]
    random.Random(seed).shuffle(callbacks)
    for callback in callbacks:
        call_log.record(callback)


def test_timeline_entries_keep_log_order_and_mark_late_and_conflicting_callbacks(
    call_log: CallLog, runner: Runner, open_views: Views
) -> None:
    busy = outbound(CallStatus.BUSY)
    ring, hangup = busy.callbacks
    conflicting = dict(hangup.params) | {"CallStatus": "failed", "HangupCauseCode": "2000"}
    for callback in [hangup, ring, cb(CallbackKind.HANGUP, conflicting), hangup]:
        call_log.record(callback)
    runner().catch_up()
    timeline = open_views()[0]
    call = call_record(timeline.rows("SELECT * FROM {p}calls")[0])
    assert (call.status, call.late, call.conflicts, call.events) == ("busy", 1, 1, 3)
    entries = timeline_entries(call_log, call)
    assert len(entries) == call.events
    assert [(e.kind, e.event, e.verdict, e.status_after) for e in entries] == [
        ("hangup", "Ended", "advanced", "busy"),
        ("ring", "CallbackRecorded", "late", "busy"),
        ("hangup", "CallbackRecorded", "conflict", "busy"),
    ]
    assert [e.position for e in entries] == [2, 3, 4]  # the call's Registered event is 1
    assert entries[0].params == dict(hangup.params)
    assert entries[0].received_at == hangup.received_at
    assert entries[1].reported_status == "ringing"


def test_timeline_entries_stop_where_the_call_row_does(
    call_log: CallLog, runner: Runner, open_views: Views
) -> None:
    ring, hangup = outbound(CallStatus.BUSY).callbacks
    call_log.record(ring)
    runner().catch_up()
    call_log.record(hangup)  # in the log, not yet in the view
    call = call_record(open_views()[0].rows("SELECT * FROM {p}calls")[0])
    assert [e.kind for e in timeline_entries(call_log, call)] == ["ring"]
    runner().catch_up()
    call = call_record(open_views()[0].rows("SELECT * FROM {p}calls")[0])
    assert [e.kind for e in timeline_entries(call_log, call)] == ["ring", "hangup"]


def test_metrics_count_each_ended_call_once_by_cause_code(
    call_log: CallLog, runner: Runner, open_views: Views
) -> None:
    specs = mixed_calls()
    record_shuffled(call_log, specs)
    runner().catch_up()
    rows = open_views()[1].rows("SELECT * FROM {p}counters WHERE scope = 'call'")
    by_code: dict[str, int] = {}
    for row in rows:
        by_code[row["cause_code"]] = by_code.get(row["cause_code"], 0) + row["calls"]
    expected: dict[str, int] = {}
    for spec in specs:
        expected[spec.cause_code] = expected.get(spec.cause_code, 0) + 1
    assert by_code == expected
    answered = sum(row["answered"] for row in rows)
    assert answered == sum(spec.answered for spec in specs)
    assert sum(row["talk_seconds"] for row in rows) == sum(s.duration for s in specs)


def test_a_late_answer_after_the_hangup_moves_the_call_between_counters(
    call_log: CallLog, runner: Runner, open_views: Views
) -> None:
    spec = outbound(CallStatus.COMPLETED)
    answer = next(c for c in spec.callbacks if c.kind is CallbackKind.ANSWER)
    hangup = dict(spec.callbacks[-1].params) | {"AnswerTime": "", "Duration": "0"}
    call_log.record(cb(CallbackKind.HANGUP, hangup))
    live = runner()
    live.catch_up()
    metrics = open_views()[1]
    assert metrics.rows("SELECT answered FROM {p}counters")[0]["answered"] == 0
    call_log.record(answer)  # late, but it proves the call was answered
    live.catch_up()
    rows = metrics.rows("SELECT calls, answered FROM {p}counters")
    assert [(r["calls"], r["answered"]) for r in rows] == [(1, 1)]


def test_incremental_views_equal_a_full_rebuild(
    call_log: CallLog, runner: Runner, open_views: Views
) -> None:
    specs = mixed_calls(seed=11) + unfinished_calls()
    callbacks = [c for spec in specs for c in spec.callbacks]
    random.Random(5).shuffle(callbacks)
    live = runner()
    live.batch_size = 3
    for callback in callbacks:
        call_log.record(callback)
        live.run_once()
    live.catch_up()
    incremental = [view.dump() for view in live.views]
    rebuilt = runner()
    rebuild_views(rebuilt.app, rebuilt.views, batch_size=4)
    assert [view.dump() for view in rebuilt.views] == incremental
    assert rebuilt.positions() == live.positions()


class CrashedError(BaseException):
    """Stands for the process dying in the middle of a view transaction (not an
    ``Exception``: the runner holds back an event whose rows raise one)."""


def crash_after_rows(view: Any) -> None:
    original = view._apply_rows

    def write_rows(cursor: Any, batch: Batch) -> None:
        view._apply_rows = original  # crash once, mid-transaction, after the rows were written
        original(cursor, batch)
        raise CrashedError

    view._apply_rows = write_rows


def test_a_runner_that_dies_mid_batch_resumes_exactly_once(
    call_log: CallLog, runner: Runner, open_views: Views
) -> None:
    specs = mixed_calls(seed=13)
    record_shuffled(call_log, specs[:4])
    first = runner()
    first.catch_up()
    record_shuffled(call_log, specs[4:])
    crashing = runner()
    crash_after_rows(crashing.views[1])
    with pytest.raises(CrashedError):
        crashing.catch_up()
    restarted = runner()  # catch-up after restart, from each view's own position
    restarted.catch_up()
    resumed = [view.dump() for view in restarted.views]
    fresh = runner()
    rebuild_views(fresh.app, fresh.views)
    assert [view.dump() for view in fresh.views] == resumed


def test_tracking_refuses_to_apply_the_same_position_twice(open_views: Views) -> None:
    timeline = open_views()[0]
    timeline.apply(Batch(), Tracking("CallLog", 5), 0)
    with pytest.raises(StalePositionError, match="tracking"):
        timeline.apply(Batch(), Tracking("CallLog", 5), 0)
    with pytest.raises(StalePositionError, match="tracking"):
        timeline.apply(Batch(), Tracking("CallLog", 9), 3)  # not where the view stands
    assert timeline.position("CallLog") == 5
    timeline.apply(Batch(), Tracking("CallLog", 9), 5)
    assert timeline.position("CallLog") == 9


def test_contributions_kept_as_objects_by_earlier_versions_are_read_back() -> None:
    hangup = outbound(CallStatus.COMPLETED, losers=2)
    call = Call.register(hangup.call_uuid, hangup.callbacks[0].received_at)
    for callback in hangup.callbacks:
        call.receive(callback)
    kept = contributions(call)
    assert len(kept) == 4  # the call, its winning leg and two losing ones
    as_objects = msgspec.json.encode([msgspec.structs.asdict(c) for c in kept])
    assert as_objects.startswith(b'[{"scope":"call"')
    assert decode_contributions(as_objects) == kept
    assert decode_contributions(msgspec.json.encode(list(kept))) == kept


@pytest.mark.parametrize("bucket", ["hour", "day"])
def test_kpis_summed_by_the_store_equal_kpis_of_every_counter_row(
    call_log: CallLog, runner: Runner, open_views: Views, bucket: Bucket
) -> None:
    record_shuffled(call_log, mixed_calls() + mixed_calls(seed=8))
    runner().catch_up()
    metrics = open_views()[1]
    rows = metrics.rows("SELECT * FROM {p}counters WHERE scope = 'call'")
    width = 13 if bucket == "hour" else 10
    by_period: dict[str, list[CounterRow]] = {}
    for row in rows:
        counter = CounterRow(
            row["status"],
            row["cause_code"],
            int(row["calls"]),
            int(row["answered"]),
            int(row["talk_seconds"]),
            tuple(int(row[f"pdd_{i}"]) for i in range(len(PDD_BOUNDS))),
        )
        by_period.setdefault(row["bucket"][:width], []).append(counter)
    assert any(user_outcome(row["cause_code"]) for row in rows)  # NER has something to add
    buckets, total = kpi_buckets(metrics, None, None, None, bucket, 1)
    assert len(buckets) == len(by_period)
    for found, counters in zip(buckets, [by_period[k] for k in sorted(by_period)], strict=True):
        expected = kpis(counters)
        assert (found.attempts, found.answered, found.asr, found.ner, found.acd) == (
            expected.attempts,
            expected.answered,
            expected.asr,
            expected.ner,
            expected.acd,
        )
        assert (found.pdd_p50, found.pdd_p95) == (expected.pdd_p50, expected.pdd_p95)
    everything = kpis([c for counters in by_period.values() for c in counters])
    assert (total.attempts, total.ner) == (everything.attempts, everything.ner)
