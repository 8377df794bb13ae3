"""Reconciling a call log with the fake Call API through the plivo SDK's own client, on
each store: open calls completed, missing calls added with their B legs, 404-then-found,
live calls left alone, 429 and 5xx retried, a list of several pages, a conflicting
record kept apart; and a pass run again stores nothing twice."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from domain.callbacks import Callback, CallbackKind
from projections.open_calls import count_open, count_reconciled
from projections.queries import find_call, timeline_entries
from projections.rebuild import rebuild_views
from projections.runner import ViewRunner
from projections.views import VIEW_NAMES, open_view
from service.reconcile import PassOptions, Reconciler, Summary
from service.reconcile_task import PeriodicReconciler
from service.settings import Settings, SettingsError
from simulator.calls import SimulatedCall
from simulator.plivo_api import PlivoCallApi
from store.application import CallLog, open_call_log
from store.persistence import parse_database_url
from tests.call_api import AUTH_ID, AUTH_TOKEN, NOW, START, client, serving, simulated

CALLS = simulated(60, seed=5)
DIALLED = [c for c in CALLS if any(r.kind is CallbackKind.DIAL_CALLBACK for r in c.requests)]
MISSING = [*DIALLED[:2], next(c for c in CALLS if not c.answered)]
DROPPED = [c for c in CALLS if c not in MISSING][:8]
NOT_WRITTEN, LIVE, RACED = DROPPED[0], DROPPED[1], DROPPED[2]
OPTIONS = PassOptions(NOW, timedelta(minutes=15), START - timedelta(hours=1))


def callbacks(call: SimulatedCall, *, hangup: bool) -> list[Callback]:
    return [
        Callback.of(r.kind, r.params, START + timedelta(seconds=i))
        for i, r in enumerate(call.requests)
        if hangup or r.kind is not CallbackKind.HANGUP
    ]


@pytest.fixture
def stores(database_url: str) -> Iterator[tuple[CallLog, ViewRunner]]:
    """The log with every callback but the withheld ones, and views caught up with it."""
    log = open_call_log(database_url)
    database = parse_database_url(database_url)
    runner = ViewRunner(
        open_call_log(database_url),
        [open_view(n, database.eventsourcing_env(n)) for n in VIEW_NAMES],
    )
    for call in CALLS:
        if call not in MISSING:
            log.record_batch(callbacks(call, hangup=call not in DROPPED))
    runner.catch_up()
    yield log, runner
    runner.close()
    log.close()


@pytest.fixture
def api() -> Iterator[PlivoCallApi]:
    with serving(CALLS) as served:
        served.account.unwritten(NOT_WRITTEN.call_uuid, lookups=1)
        served.account.live(LIVE.call_uuid, lookups=1)
        served.account.conflict(RACED.call_uuid)
        yield served


def test_a_pass_completes_open_calls_and_adds_missing_ones(
    stores: tuple[CallLog, ViewRunner], api: PlivoCallApi
) -> None:
    log, runner = stores
    timeline = runner.views[0]
    # The hangup arrives after the views last saw the call: the view still has it open,
    # and the record Plivo serves for it disagrees (a conflict, kept apart).
    log.record_batch([c for c in callbacks(RACED, hangup=True) if c.kind is CallbackKind.HANGUP])
    assert count_open(timeline, OPTIONS.until) == len(DROPPED)
    api.fail_next(429, retry_after=0)
    api.fail_next(503, count=2)
    with client(api) as calls:
        first = Reconciler(log, timeline, calls).run(OPTIONS)
        runner.catch_up()
        second = Reconciler(log, timeline, calls).run(OPTIONS)
    runner.catch_up()
    assert (first.looked_up, first.completed, first.live, first.not_written) == (7, 5, 1, 1)
    assert (first.conflicts, first.errors, first.added) == (1, 0, len(MISSING))
    assert first.legs == sum(len(api.account.calls[c.call_uuid].records) - 1 for c in MISSING)
    assert first.legs >= 2
    assert (second.looked_up, second.completed, second.added, second.still_open) == (2, 2, 0, 0)
    assert {429, 503} <= {s.status for s in api.served}
    assert any(s.query.get("offset") not in (None, "0") for s in api.served)  # pages

    for call in DROPPED + MISSING:
        row = find_call(timeline, call.call_uuid)
        assert row is not None, call.call_uuid
        assert (row.status, row.answered) == (call.status.value, call.answered)
        assert row.hangup_cause_code == int(call.cause_code)
        entries = timeline_entries(runner.app, row)
        api_entries = [e for e in entries if e.source == "call_api"]
        assert api_entries, call.call_uuid
        assert all(e.event == "Reconciled" for e in api_entries)
        if call is RACED:
            assert [e.verdict for e in api_entries] == ["conflict"]
            assert row.conflicts == 1
        elif call in MISSING:
            assert len(row.legs) == len(api.account.calls[call.call_uuid].records) - 1
            assert all(e.kind in ("hangup", "dial_callback") for e in api_entries)
        else:
            assert api_entries[-1].verdict == "advanced"
            assert api_entries[-1].params["call_uuid"] == call.call_uuid  # the record
    assert count_open(timeline, OPTIONS.until) == 0
    assert count_reconciled(timeline) == len(DROPPED) - 1 + len(MISSING)


def test_a_pass_run_again_stores_nothing_twice(
    stores: tuple[CallLog, ViewRunner], api: PlivoCallApi
) -> None:
    log, runner = stores
    timeline = runner.views[0]
    with client(api) as calls:
        Reconciler(log, timeline, calls).run(OPTIONS)
        head = log.recorder.max_notification_id()
        # As after an interruption: the views have not seen what the first pass stored.
        again = Reconciler(log, timeline, calls).run(OPTIONS)
    # Only the two calls the first pass could not complete (live, not written) are new.
    assert (log.recorder.max_notification_id() or 0) - (head or 0) == 2
    assert (again.completed, again.added, again.legs) == (2, 0, 0)
    assert again.verdicts == {"advanced": 2, "duplicate": again.looked_up - 2}


def test_a_dry_run_records_nothing(stores: tuple[CallLog, ViewRunner], api: PlivoCallApi) -> None:
    log, runner = stores
    head = log.recorder.max_notification_id()
    with client(api) as calls:
        dry = Reconciler(log, runner.views[0], calls).run(
            PassOptions(NOW, OPTIONS.older_than, OPTIONS.since, dry_run=True)
        )
    assert log.recorder.max_notification_id() == head
    assert (dry.completed, dry.added) == (len(DROPPED) - 2, len(MISSING))


def test_the_service_reconciles_periodically(
    stores: tuple[CallLog, ViewRunner], api: PlivoCallApi, database_url: str
) -> None:
    _, runner = stores
    env = {
        "CALLTRAIL_DATABASE_URL": database_url,
        "CALLTRAIL_PLIVO_AUTH_ID": AUTH_ID,
        "CALLTRAIL_PLIVO_AUTH_TOKEN": AUTH_TOKEN,
        "CALLTRAIL_PLIVO_API_URL": api.url,
        "CALLTRAIL_PLIVO_API_RATE": "60",
        "CALLTRAIL_RECONCILE_EVERY": "1m",
        "CALLTRAIL_RECONCILE_OLDER_THAN": "0s",
    }
    # A tenth of a second instead of the minute the settings allow at least.
    settings = replace(Settings.from_env(env), reconcile_every=0.1)
    passes: queue.SimpleQueue[Summary] = queue.SimpleQueue()
    task = PeriodicReconciler(settings, on_pass=passes.put)
    task.start()
    try:
        first = passes.get(timeout=60)
        runner.catch_up()
        second = passes.get(timeout=60)
    finally:
        task.stop()
    # The calls open now: their latest callback is older than 0 s.
    assert first.completed == len(DROPPED) - 2
    assert second.completed == 2
    runner.catch_up()
    assert count_open(runner.views[0], NOW + timedelta(days=3650)) == 0
    assert first.added == 0  # the first window is the last day's, and these calls ended long ago


def test_reconcile_settings() -> None:
    assert Settings.from_env({}).reconcile_every == 0
    assert Settings.from_env({}).reconcile_older_than == 900
    with pytest.raises(SettingsError, match="RECONCILE_EVERY needs CALLTRAIL_PLIVO_AUTH_ID"):
        Settings.from_env({"CALLTRAIL_RECONCILE_EVERY": "15m"})
    credentials = {"CALLTRAIL_PLIVO_AUTH_ID": AUTH_ID, "CALLTRAIL_PLIVO_AUTH_TOKEN": "t"}
    with pytest.raises(SettingsError, match="at least 1m"):
        Settings.from_env(credentials | {"CALLTRAIL_RECONCILE_EVERY": "30s"})
    every = Settings.from_env(credentials | {"CALLTRAIL_RECONCILE_EVERY": "2h"})
    assert every.reconcile_every == 7200
    with pytest.raises(SettingsError, match="RECONCILE_OLDER_THAN"):
        Settings.from_env({"CALLTRAIL_RECONCILE_OLDER_THAN": "soon"})


def test_a_rebuild_over_reconciled_calls_gives_the_same_views(
    stores: tuple[CallLog, ViewRunner], api: PlivoCallApi
) -> None:
    log, runner = stores
    with client(api) as calls:
        for _ in range(2):
            Reconciler(log, runner.views[0], calls).run(OPTIONS)
            runner.catch_up()
    live = [view.dump() for view in runner.views]
    rebuild_views(runner.app, runner.views, batch_size=7)
    assert [view.dump() for view in runner.views] == live


def test_two_passes_at_once_store_each_record_once(
    stores: tuple[CallLog, ViewRunner], database_url: str
) -> None:
    """Two service instances reconciling together (each its own log, client and view):
    every record is stored once, the second recording of it a duplicate."""
    _, runner = stores
    logs = [open_call_log(database_url) for _ in range(2)]
    summaries: list[Summary] = []
    try:
        with serving(CALLS) as plain:

            def one_pass(log: CallLog) -> None:
                with client(plain) as calls:
                    summaries.append(Reconciler(log, runner.views[0], calls).run(OPTIONS))

            threads = [threading.Thread(target=one_pass, args=(log,)) for log in logs]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        records = len(DROPPED) + sum(len(plain.account.calls[c.call_uuid].records) for c in MISSING)
        head = logs[0].recorder.max_notification_id() or 0
        stored = logs[0].recorder.select_notifications(start=1, limit=head + 1)
        assert sum(n.topic.endswith("Call.Reconciled") for n in stored) == records
        assert len(summaries) == 2
        assert sum(s.completed for s in summaries) == len(DROPPED)
        assert sum(s.added for s in summaries) == len(MISSING)
    finally:
        for log in logs:
            log.close()
