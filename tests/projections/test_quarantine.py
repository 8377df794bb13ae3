"""Events a view cannot apply are held in its quarantine and the views move on; a retry
applies them once their cause is fixed, exactly once. On each store."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError, PersistenceError

from domain.call import Call
from domain.ids import call_id
from domain.status import CallStatus
from projections.quarantine import entries
from projections.rebuild import rebuild_views
from projections.retry import retry
from projections.runner import ViewRunner
from store.application import CallLog
from store.persistence import parse_database_url
from tests.factories import CallSpec, inbound, outbound
from tests.poison import (
    FIXED_MAPPER,
    compressed,
    insert,
    known_as,
    renamed,
    stored_events,
    unknown_topic,
    with_param,
)

Runner = Callable[[], ViewRunner]


def record(call_log: CallLog, *specs: CallSpec) -> None:
    for spec in specs:
        for callback in spec.callbacks:
            call_log.record(callback)


def statuses(view: Any) -> dict[str, str | None]:
    return {row["call_uuid"]: row["status"] for row in view.rows("SELECT * FROM {p}calls")}


def held(view: Any) -> list[tuple[int, int]]:
    """(position, cause) of each event the view holds."""
    return [(entry.position, entry.cause) for entry in entries(view)]


def dumps(views: list[Any]) -> list[dict[str, list[tuple[Any, ...]]]]:
    return [view.dump() for view in views]


def test_an_event_of_an_unknown_type_is_held_with_the_rest_of_its_call(
    call_log: CallLog, runner: Runner
) -> None:
    before, poisoned, after = (
        outbound(CallStatus.BUSY),
        outbound(CallStatus.COMPLETED),
        inbound(True),
    )
    record(call_log, before)
    topic = unknown_topic()
    events = stored_events(call_log, poisoned)
    events[2] = renamed(events[2], topic)  # its answer, as a later version might store it
    positions = insert(call_log, events[:4])
    live = runner()
    live.catch_up()
    positions += insert(call_log, events[4:])  # the held call goes on, after the hold
    record(call_log, after)
    live.catch_up()
    head = call_log.recorder.max_notification_id()
    assert live.positions() == [head, head]
    assert statuses(live.views[0]) == {
        before.call_uuid: "busy",
        poisoned.call_uuid: "ringing",  # as it stood before the event it could not read
        after.call_uuid: "completed",
    }
    for view in live.views:
        assert held(view) == [(position, positions[2]) for position in positions[2:]]
        cause = entries(view)[0]
        assert cause.call_id == str(call_id(poisoned.call_uuid))
        assert cause.error.startswith("TopicError")
        assert topic in cause.error


def test_a_retry_once_the_cause_is_fixed_applies_the_held_events_exactly_once(
    call_log: CallLog, runner: Runner
) -> None:
    poisoned, others = outbound(CallStatus.COMPLETED, losers=1), [outbound(CallStatus.NO_ANSWER)]
    topic = unknown_topic()
    events = stored_events(call_log, poisoned)
    events[3] = renamed(events[3], topic)
    positions = insert(call_log, events)
    record(call_log, *others)
    live = runner()
    live.catch_up()
    unfixed = [retry(live.app, view) for view in live.views]
    assert [(o.applied, len(o.held)) for o in unfixed] == [([], len(events) - 3)] * 2
    assert [held(view) for view in live.views] == [[(p, positions[3]) for p in positions[3:]]] * 2
    with known_as(topic, Call.Answered):
        fixed = [retry(live.app, view) for view in live.views]
        assert [(o.applied, o.held) for o in fixed] == [(positions[3:], [])] * 2
        retried = dumps(live.views)
        assert statuses(live.views[0])[poisoned.call_uuid] == "completed"
        assert [(o.applied, o.held) for o in (retry(live.app, v) for v in live.views)] == [
            ([], [])
        ] * 2
        assert dumps(live.views) == retried  # a second retry changes nothing
        fresh = runner()
        rebuild_views(fresh.app, fresh.views, batch_size=1)
        assert dumps(fresh.views) == retried  # the held events counted once
        live.catch_up()
        assert dumps(live.views) == retried


def test_a_state_that_cannot_be_decoded_is_held_until_a_version_that_reads_it(
    database_url: str, call_log: CallLog, runner: Runner, opened: list[Any]
) -> None:
    spec = outbound(CallStatus.COMPLETED)
    events = stored_events(call_log, spec)
    events[-1] = compressed(events[-1])  # its hangup, as an older version stored it
    positions = insert(call_log, events)
    record(call_log, inbound(False))
    live = runner()
    live.catch_up()
    assert [held(view) for view in live.views] == [[(positions[-1], positions[-1])]] * 2
    assert entries(live.views[0])[0].error.startswith("MapperDeserialisationError")
    assert statuses(live.views[0])[spec.call_uuid] == "in-progress"
    first = entries(live.views[0])[0]
    still = retry(live.app, live.views[0])  # this version still cannot read it
    assert (still.applied, [e.error for e in still.held]) == ([], [first.error])
    assert entries(live.views[0])[0].held_at >= first.held_at
    env = parse_database_url(database_url).eventsourcing_env("events") | FIXED_MAPPER
    upgraded = CallLog(env=env)
    opened.append(upgraded)
    assert [retry(upgraded, view).applied for view in live.views] == [[positions[-1]]] * 2
    assert statuses(live.views[0])[spec.call_uuid] == "completed"
    fresh = runner()
    rebuild_views(upgraded, fresh.views, batch_size=1)
    assert dumps(fresh.views) == dumps(live.views)


@pytest.mark.parametrize("value", ["\ud800", "+1415555\x000100"], ids=["surrogate", "nul"])
def test_rows_a_store_cannot_keep_are_held_by_that_view_alone(
    database_url: str, call_log: CallLog, runner: Runner, value: str
) -> None:
    if "\x00" in value and parse_database_url(database_url).kind == "sqlite":
        pytest.skip("SQLite keeps NUL characters in text; only PostgreSQL refuses them")
    spec, later = outbound(CallStatus.COMPLETED), outbound(CallStatus.BUSY)
    events = stored_events(call_log, spec)
    events[-1] = with_param(events[-1], "From", value)  # the hangup: it names the parties
    positions = insert(call_log, events)
    record(call_log, later)
    live = runner()
    live.catch_up()
    timeline, metrics = live.views
    assert held(timeline) == [(positions[-1], positions[-1])]
    assert entries(timeline)[0].error.split(":")[0] in {"UnicodeEncodeError", "DataError"}
    assert statuses(timeline)[spec.call_uuid] == "in-progress"
    assert statuses(timeline)[later.call_uuid] == "busy"
    assert held(metrics) == []  # the metrics never read From: they count the call
    ended = metrics.rows("SELECT status, calls FROM {p}counters WHERE scope = 'call'")
    assert sorted((row["status"], row["calls"]) for row in ended) == [("busy", 1), ("completed", 1)]
    assert retry(live.app, timeline).applied == []  # no fix yet: still held
    assert held(timeline) == [(positions[-1], positions[-1])]


@pytest.mark.parametrize(
    "failure",
    [OperationalError("the server went away"), sqlite3.DatabaseError("disk image is malformed")],
    ids=["unreachable", "damaged"],
)
def test_a_failing_store_is_tried_again_and_holds_nothing(
    call_log: CallLog, runner: Runner, failure: Exception
) -> None:
    spec = outbound(CallStatus.BUSY)
    record(call_log, spec)
    live = runner()
    metrics = live.views[1]
    real = metrics._apply_rows

    def fail_once(cursor: Any, batch: Any) -> None:
        metrics._apply_rows = real  # type: ignore[method-assign]
        raise failure

    metrics._apply_rows = fail_once  # type: ignore[method-assign]
    with pytest.raises((type(failure), PersistenceError)):  # as raised, or as eventsourcing's
        live.catch_up()
    assert [held(view) for view in live.views] == [[], []]
    live.catch_up()  # the store is back
    assert [held(view) for view in live.views] == [[], []]
    counted = metrics.rows("SELECT status, calls FROM {p}counters WHERE scope = 'call'")
    assert [(row["status"], row["calls"]) for row in counted] == [("busy", 1)]
