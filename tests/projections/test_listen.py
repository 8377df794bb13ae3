"""A following runner is woken by another process's commit, not only by its poll: on
PostgreSQL by the log's NOTIFY, on SQLite (a runner in a process of its own) by the
store's data version."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.callbacks import Callback
from service.bootstrap import projection_runner
from service.settings import Settings
from simulator.calls import CallFactory
from store.application import open_call_log


@pytest.mark.postgres
def test_another_process_commit_wakes_the_runner_long_before_its_poll(pg_schema: str) -> None:
    now = datetime.now(UTC)
    call = CallFactory(3, start=now).call()
    callbacks = [Callback.of(r.kind, dict(r.params), now) for r in call.requests]
    runner = projection_runner(Settings.from_env({"CALLTRAIL_DATABASE_URL": pg_schema}))
    other = open_call_log(pg_schema)  # another writer: its commits cannot set runner.wake
    stop = threading.Event()
    follower = threading.Thread(target=runner.follow, args=(stop,), kwargs={"poll_seconds": 600})
    follower.start()
    try:
        assert runner.listening.wait(timeout=30)
        # One callback at a time, each seen before the next is written: a commit landing
        # while the runner was still busy with the previous one is picked up without any
        # wake, but the runner cannot be busy at every one of these.
        for callback in callbacks:
            position = other.record(callback).position
            assert position is not None
            for view in runner.views:
                tracking: Any = view  # a SqlView mixed into eventsourcing's TrackingRecorder
                tracking.wait("CallLog", position, timeout=30)  # the poll would take 600 s
    finally:
        stop.set()
        runner.wake.set()
        follower.join(timeout=30)
        runner.close()
        other.close()


def test_on_sqlite_a_watching_runner_sees_another_connection_commit(sqlite_url: str) -> None:
    now = datetime.now(UTC)
    call = CallFactory(4, start=now).call()
    callbacks = [Callback.of(r.kind, dict(r.params), now) for r in call.requests]
    runner = projection_runner(Settings.from_env({"CALLTRAIL_DATABASE_URL": sqlite_url}))
    other = open_call_log(sqlite_url)  # as a web worker would: its commits set no wake
    stop = threading.Event()
    follower = threading.Thread(
        target=runner.follow, args=(stop,), kwargs={"poll_seconds": 600, "watch": True}
    )
    follower.start()
    try:
        for callback in callbacks:  # one at a time, as above
            position = other.record(callback).position
            assert position is not None
            for view in runner.views:
                tracking: Any = view
                tracking.wait("CallLog", position, timeout=30)  # the poll would take 600 s
    finally:
        stop.set()
        runner.wake.set()
        follower.join(timeout=30)
        runner.close()
        other.close()
