"""A rebuild over a log holding an event the views cannot apply completes, and recomputes
the quarantine: it holds what the code of now cannot apply, as the live runner does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from domain.call import Call
from domain.status import CallStatus
from projections.quarantine import counts, entries
from projections.rebuild import rebuild_views
from projections.runner import ViewRunner
from store.application import CallLog
from tests.factories import outbound
from tests.poison import insert, known_as, renamed, stored_events, unknown_topic, with_param
from tests.projections.test_views import mixed_calls, record_shuffled

Runner = Callable[[], ViewRunner]


def quarantined(views: list[Any]) -> list[list[tuple[int, str, int, str]]]:
    """What each view holds, but when."""
    return [[(e.position, e.call_id, e.cause, e.error) for e in entries(view)] for view in views]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_rebuild_holds_what_it_cannot_apply_and_builds_the_rest(
    call_log: CallLog, runner: Runner, workers: int
) -> None:
    record_shuffled(call_log, mixed_calls(seed=61)[:4])
    topic = unknown_topic()
    unknown = stored_events(call_log, outbound(CallStatus.COMPLETED))
    unknown[2] = renamed(unknown[2], topic)
    unwritable = stored_events(call_log, outbound(CallStatus.BUSY))
    unwritable[-1] = with_param(unwritable[-1], "From", "\ud800")
    insert(call_log, unknown)
    insert(call_log, unwritable)
    record_shuffled(call_log, mixed_calls(seed=61)[4:])
    live = runner()
    live.catch_up()
    rebuilt = runner()
    position = rebuild_views(rebuilt.app, rebuilt.views, batch_size=4, workers=workers)
    assert position == call_log.recorder.max_notification_id()
    assert rebuilt.positions() == [position, position]
    assert [view.dump() for view in rebuilt.views] == [view.dump() for view in live.views]
    assert quarantined(rebuilt.views) == quarantined(live.views)
    timeline, metrics = quarantined(rebuilt.views)
    assert len(timeline) == len(unknown) - 2 + 1
    assert len(metrics) == len(unknown) - 2
    assert [counts(view) for view in rebuilt.views] == [(len(timeline),) * 2, (len(metrics),) * 2]


def test_a_rebuild_after_the_fix_empties_the_quarantine(call_log: CallLog, runner: Runner) -> None:
    topic = unknown_topic()
    events = stored_events(call_log, outbound(CallStatus.COMPLETED))
    events[-1] = renamed(events[-1], topic)
    insert(call_log, events)
    live = runner()
    live.catch_up()
    assert [len(entries(view)) for view in live.views] == [1, 1]
    with known_as(topic, Call.Ended):
        rebuild_views(live.app, live.views)
    assert [counts(view) for view in live.views] == [(0, 0), (0, 0)]
    assert live.views[0].rows("SELECT status FROM {p}calls")[0]["status"] == "completed"
