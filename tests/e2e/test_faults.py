"""Faults under simulated load, on real servers over loopback: nothing acknowledged is lost.

Each test drives ``calltrail simulate``'s engine (seeded calls, duplicates sent at the
same moment to another instance, shuffled deliveries, retries as Plivo's ``#rp=all``)
against ``calltrail serve`` processes, breaks something mid-load, and then requires the
simulator's own read-back check to pass: every call complete, with the final status,
answered flag and hangup cause it was sent, and one stored event per distinct callback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.callbacks import Callback
from service.bootstrap import open_views, projection_runner
from service.settings import Settings
from simulator.calls import CallFactory
from simulator.delivery import DeliveryOptions, Target
from simulator.run import Outcome, Simulation, run, summary
from store.application import open_call_log
from tests.e2e.proxy import proxy_to
from tests.e2e.server import free_port, running_server
from tests.plivo_client import TOKEN

API_KEY = "fault-test-read-key"
START = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
WITH_KEYS = {"CALLTRAIL_API_KEYS": API_KEY}


def simulation(urls: list[str], calls: int, seed: int, **hooks: Any) -> Simulation:
    """Hostile but valid traffic: 10 % duplicates, a third of calls shuffled, GET and POST."""
    options = DeliveryOptions(
        targets=[Target(url, url) for url in urls],
        auth_token=TOKEN,
        concurrency=12,
        duplicate_rate=0.1,
        reorder_rate=0.3,
        get_share=0.2,
        retries=30,
        backoff=0.05,
        max_backoff=0.5,
    )
    return Simulation(
        delivery=options,
        calls=calls,
        seed=seed,
        start=START,
        api_key=API_KEY,
        progress=False,
        **hooks,
    )


class Background:
    """Runs a simulation in a thread; ``at(n)`` is set once ``n`` calls were delivered."""

    def __init__(self, make: Callable[..., Simulation], marks: tuple[int, ...] = ()) -> None:
        self.marks = {mark: threading.Event() for mark in marks}
        self.delivered = 0
        self.outcome: Outcome | None = None
        self.error: BaseException | None = None
        self.simulation = make(on_call=self._delivered)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _delivered(self, count: int) -> None:
        self.delivered += count
        if self.delivered in self.marks:
            self.marks[self.delivered].set()

    def _run(self) -> None:
        try:
            self.outcome = run(self.simulation)
        except BaseException as error:  # re-raised in the test's thread by result()
            self.error = error

    def at(self, mark: int) -> None:
        """Block until ``mark`` calls were delivered (or fail the test after a minute)."""
        assert self.marks[mark].wait(timeout=120), f"stalled at {self.delivered} calls"

    def result(self) -> Outcome:
        """The finished run's outcome."""
        self.thread.join(timeout=600)
        if self.error is not None:
            raise self.error
        assert self.outcome is not None
        return self.outcome


def assert_all_delivered(outcome: Outcome) -> None:
    assert outcome.verification is not None
    assert outcome.ok, summary(outcome)
    assert outcome.verification.checked == len(outcome.calls)


def stored_events(database_url: str) -> int:
    """How many events the store holds (PostgreSQL positions have gaps: count them)."""
    app = open_call_log(database_url)
    try:
        count, start = 0, 1
        while page := app.recorder.select_notifications(start=start, limit=5000):
            count += len(page)
            start = page[-1].id + 1
        return count
    finally:
        app.close()


def views_equal_a_fresh_rebuild(database_url: str) -> None:
    """Catch the views up (as a restarted runner does), then compare with ``rebuild all``."""
    settings = Settings.from_env({"CALLTRAIL_DATABASE_URL": database_url})
    runner = projection_runner(settings)
    try:
        runner.catch_up()
        live = [view.dump() for view in runner.views]
    finally:
        runner.close()
    env = dict(os.environ) | {"CALLTRAIL_DATABASE_URL": database_url}
    subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "rebuild", "all"],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    views = open_views(settings)
    try:
        assert [view.dump() for view in views] == live
    finally:
        for view in views:
            view.close()


def test_repeated_sigkill_under_load_loses_no_acknowledged_callback(sqlite_url: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    load = Background(lambda **hooks: simulation([url], 240, seed=21, **hooks), (60, 120, 180))
    with ExitStack() as servers:
        server = servers.enter_context(running_server(sqlite_url, port=port, extra=WITH_KEYS))
        load.thread.start()
        for mark in (60, 120, 180):
            load.at(mark)
            server.kill()  # mid-load: requests in flight get no reply and are retried
            server = servers.enter_context(running_server(sqlite_url, port=port, extra=WITH_KEYS))
        outcome = load.result()
    assert outcome.report.transport_errors > 0  # the kills did land mid-load
    assert_all_delivered(outcome)
    expected = sum(len(call.requests) + 1 for call in outcome.calls)
    assert stored_events(sqlite_url) == expected  # nothing lost, nothing stored twice
    views_equal_a_fresh_rebuild(sqlite_url)


@pytest.mark.postgres
def test_a_database_outage_is_503_then_traffic_resumes_without_a_restart(pg_schema: str) -> None:
    with proxy_to("127.0.0.1", 5432) as proxy:
        database_url = pg_schema.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        unavailable = threading.Event()

        def observe(status: int) -> None:
            if status == 503:
                unavailable.set()
            assert status in (0, 200, 503), status  # never a 500, never a 4xx

        with running_server(database_url, extra=WITH_KEYS) as server:
            load = Background(
                lambda **hooks: simulation([server.url], 200, seed=22, observer=observe, **hooks),
                (50,),
            )
            load.thread.start()
            load.at(50)
            proxy.cut()
            assert unavailable.wait(timeout=120), "no 503 while the database was away"
            proxy.restore()  # the same server process, no restart
            outcome = load.result()
    assert outcome.report.unavailable > 0
    assert_all_delivered(outcome)
    assert stored_events(pg_schema) == sum(len(call.requests) + 1 for call in outcome.calls)


@pytest.mark.postgres
def test_two_instances_on_one_database_lose_and_double_nothing(pg_schema: str) -> None:
    off = WITH_KEYS | {"CALLTRAIL_PROJECTIONS": "off"}
    env = dict(os.environ) | {"CALLTRAIL_DATABASE_URL": pg_schema}
    projector = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "project"], env=env, stderr=subprocess.DEVNULL
    )
    try:
        with (
            running_server(pg_schema, extra=off) as one,
            running_server(pg_schema, extra=off) as two,
        ):
            # Each call's callbacks alternate between the instances; a duplicate goes to
            # the other instance at the same moment, so both race on the same call.
            outcome = run(simulation([one.url, two.url], 300, seed=23))
    finally:
        projector.send_signal(signal.SIGTERM)
        projector.wait(timeout=30)
    assert outcome.report.duplicates > 0
    assert_all_delivered(outcome)
    assert stored_events(pg_schema) == sum(len(call.requests) + 1 for call in outcome.calls)
    views_equal_a_fresh_rebuild(pg_schema)


def reached_a_third_of(view: Any, head: int, timeout: float = 120.0) -> None:
    """Return as soon as ``view`` has projected a third of the log. eventsourcing's
    ``wait`` backs off to 0.8 s between looks: a projector that starts fast (no PostgreSQL
    driver to import on SQLite) had finished the whole backlog before the next look."""
    deadline = time.monotonic() + timeout
    while view.position("CallLog") < head // 3:
        assert time.monotonic() < deadline, "the projector never got a third of the way"
        time.sleep(0.005)  # a look every 5 ms; projecting the rest takes far longer


def test_a_killed_projection_process_resumes_exactly_once(database_url: str) -> None:
    app = open_call_log(database_url)
    factory = CallFactory(24, start=START)
    callbacks = [
        Callback.of(request.kind, dict(request.params), START)
        for _ in range(1500)
        for request in factory.call().requests
    ]
    for start in range(0, len(callbacks), 500):
        app.record_batch(callbacks[start : start + 500])
    head = app.recorder.max_notification_id() or 0
    app.close()
    env = dict(os.environ) | {"CALLTRAIL_DATABASE_URL": database_url}
    settings = Settings.from_env({"CALLTRAIL_DATABASE_URL": database_url})
    views = open_views(settings)
    try:
        # Small batches: many view transactions, so the kill lands inside the backlog.
        command = [sys.executable, "-m", "entrypoints.cli", "project", "--batch", "50"]
        first = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
        reached_a_third_of(views[0], head)
        first.kill()
        first.wait(timeout=30)
        assert views[0].position("CallLog") < head, "killed too late to count"
        second = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
        try:
            for view in views:
                view.wait("CallLog", head, timeout=300)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
    finally:
        for view in views:
            view.close()
    views_equal_a_fresh_rebuild(database_url)
