"""The Call aggregate: verdicts, events, answered-ness, legs, and replay."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import timedelta

import pytest
from eventsourcing.domain import Aggregate

from domain.call import Call
from domain.callbacks import CallbackKind
from domain.ids import call_id
from domain.status import CallStatus, Verdict
from tests.factories import T0, cb, inbound, other_outcome, outbound, stray


def replay(call: Call) -> Call:
    """Rebuild a call from its own events, as a repository does."""
    rebuilt: Aggregate | None = None
    for event in call.collect_events():
        rebuilt = event.mutate(rebuilt)
    assert isinstance(rebuilt, Call)
    return rebuilt


def fresh(call_uuid: str) -> Call:
    return Call.register(call_uuid, T0)


def test_answered_outbound_call_walks_the_happy_path() -> None:
    spec = outbound(CallStatus.COMPLETED, talk=66)
    call = fresh(spec.call_uuid)
    verdicts = [call.receive(c) for c in spec.callbacks]
    names = [type(e).__name__ for e in call.pending_events]
    assert names[:3] == ["Registered", "Rang", "Answered"]
    assert names[-1] == "Ended"
    assert "DialLegUpdated" in names
    assert verdicts[0] is Verdict.ADVANCED
    summary = call.summary()
    assert summary.status is CallStatus.COMPLETED
    assert summary.answered
    assert summary.hangup is not None
    assert (summary.hangup.cause_code, summary.hangup.duration) == ("4000", 66)
    assert summary.hangup.bill_duration == 120
    assert summary.parties.direction == "outbound"


def test_a_retried_delivery_is_acknowledged_but_not_stored_twice() -> None:
    spec = outbound(CallStatus.BUSY)
    call = fresh(spec.call_uuid)
    first = call.receive(spec.callbacks[-1])
    again = spec.callbacks[-1]
    retried = cb(again.kind, dict(again.params), T0 + timedelta(seconds=30))
    assert (first, call.receive(retried)) == (Verdict.ADVANCED, Verdict.DUPLICATE)
    assert len(call.pending_events) == 2


def test_late_ring_after_the_hangup_is_recorded_and_changes_nothing() -> None:
    spec = outbound(CallStatus.NO_ANSWER)
    ring, end = spec.callbacks
    call = fresh(spec.call_uuid)
    call.receive(end)
    before = call.summary()
    assert call.receive(ring) is Verdict.LATE
    after = call.summary()
    assert after.status is CallStatus.NO_ANSWER
    assert after.late == 1
    assert (after.hangup, after.answered) == (before.hangup, before.answered)
    assert type(call.pending_events[-1]).__name__ == "CallbackRecorded"


def test_a_second_different_outcome_is_a_conflict_and_the_first_stands() -> None:
    busy = outbound(CallStatus.BUSY)
    call = fresh(busy.call_uuid)
    call.receive(busy.callbacks[-1])
    other = dict(busy.callbacks[-1].params) | {"CallStatus": "failed", "HangupCauseCode": "2000"}
    assert call.receive(cb(CallbackKind.HANGUP, other)) is Verdict.CONFLICT
    summary = call.summary()
    assert (summary.status, summary.conflicts) == (CallStatus.BUSY, 1)
    assert summary.hangup is not None
    assert summary.hangup.cause_code == "3010"


def test_a_conflicting_answered_outcome_leaves_the_busy_call_whole() -> None:
    spec = outbound(CallStatus.BUSY, ring=False)
    call = fresh(spec.call_uuid)
    call.receive(spec.callbacks[0])
    before = call.summary()
    answered = other_outcome(spec, CallStatus.COMPLETED, talk=66)
    assert answered.params["AnswerTime"]
    assert call.receive(answered) is Verdict.CONFLICT
    assert call.summary() == replace(before, conflicts=1)
    assert (call.summary().status, call.summary().answered) == (CallStatus.BUSY, False)


@pytest.mark.parametrize("in_progress_first", [True, False])
def test_an_in_progress_before_or_after_a_busy_hangup_does_not_answer_it(
    in_progress_first: bool,
) -> None:
    spec = outbound(CallStatus.BUSY, ring=False)
    busy = spec.callbacks[0]
    answer = stray(spec, CallbackKind.ANSWER, CallStatus.IN_PROGRESS, answer_time=True)
    call = fresh(spec.call_uuid)
    verdicts = [call.receive(c) for c in ([answer, busy] if in_progress_first else [busy, answer])]
    summary = call.summary()
    assert (summary.status, summary.answered) == (CallStatus.BUSY, False)
    assert summary.hangup is not None
    assert (summary.hangup.cause_code, summary.hangup.duration) == ("3010", 0)
    late = (
        [Verdict.ADVANCED, Verdict.ADVANCED]
        if in_progress_first
        else [Verdict.ADVANCED, Verdict.LATE]
    )
    assert (verdicts, summary.late) == (late, int(not in_progress_first))


def test_completed_alone_does_not_prove_an_answer() -> None:
    rejected = inbound(answered=False)
    call = fresh(rejected.call_uuid)
    for c in rejected.callbacks:
        call.receive(c)
    assert call.summary().status is CallStatus.COMPLETED
    assert not call.summary().answered


def test_inbound_answer_url_rings_and_the_dial_action_answers() -> None:
    spec = inbound(answered=True)
    call = fresh(spec.call_uuid)
    call.receive(spec.callbacks[0])
    assert call.status is CallStatus.RINGING
    assert not call.answered


def test_unknown_status_is_kept_as_data() -> None:
    call = fresh("u-1")
    params = {"CallUUID": "u-1", "CallStatus": "queued", "Mystery": ""}
    assert call.receive(cb(CallbackKind.RING, params)) is Verdict.UNRECOGNISED
    assert call.status is None
    event = call.pending_events[-1]
    assert isinstance(event, Call.CallbackRecorded)
    assert event.params == params


def test_b_legs_are_tracked_with_their_own_outcome() -> None:
    spec = outbound(CallStatus.COMPLETED, losers=1)
    call = fresh(spec.call_uuid)
    for c in spec.callbacks:
        call.receive(c)
    legs = {leg.hangup_cause_code: leg for leg in call.summary().legs}
    assert set(legs) == {"9000", "4000"}
    assert legs["4000"].answered
    assert legs["4000"].dial_status == "completed"
    assert legs["4000"].duration == 30
    assert not legs["9000"].answered
    assert [d.status for d in call.summary().dials] == ["completed"]


def test_a_callback_for_another_call_is_refused() -> None:
    call = fresh("a")
    with pytest.raises(ValueError, match="sent to"):
        call.receive(cb(CallbackKind.RING, {"CallUUID": "b", "CallStatus": "ringing"}))


def test_replaying_the_events_rebuilds_the_same_call() -> None:
    spec = outbound(CallStatus.COMPLETED, losers=2)
    call = fresh(spec.call_uuid)
    for c in [*reversed(spec.callbacks), spec.callbacks[0]]:
        call.receive(c)
    summary = call.summary()
    assert replay(call).summary() == summary
    assert call.id == call_id(spec.call_uuid)


def test_event_time_is_the_arrival_time_not_the_clock() -> None:
    call = fresh("t-1")
    at = T0 + timedelta(hours=3)
    call.receive(cb(CallbackKind.RING, {"CallUUID": "t-1", "CallStatus": "ringing"}, at))
    assert [e.timestamp for e in call.pending_events] == [T0, at]


def test_a_copy_can_be_changed_without_touching_the_original() -> None:
    spec = outbound(CallStatus.COMPLETED, losers=1)
    call = fresh(spec.call_uuid)
    for c in spec.callbacks[:3]:
        call.receive(c)
    before = call.summary()
    clone = copy.deepcopy(call)
    for c in spec.callbacks[3:]:
        clone.receive(c)
    assert call.summary() == before
    assert len(call.pending_events) == 4
    assert clone.summary().status is CallStatus.COMPLETED
