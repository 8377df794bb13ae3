"""The final state of a call must not depend on the order its callbacks arrive in, and
whatever arrives, in any order, its summary stays consistent."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.call import Call
from domain.callbacks import Callback, shows_answer
from domain.hangup import hangup_report
from domain.status import TERMINAL, UNANSWERED, Verdict
from tests.factories import T0, CallSpec
from tests.strategies import calls, deliveries, hostile


def final(spec: CallSpec, order: list[Callback]) -> Call:
    call = Call.register(spec.call_uuid, T0)
    for callback in order:
        call.receive(callback)
    return call


@settings(max_examples=300, deadline=None)
@given(data=st.data(), spec=calls())
def test_any_order_with_retries_gives_the_expected_final_state(
    data: st.DataObject, spec: CallSpec
) -> None:
    call = final(spec, data.draw(deliveries(spec)))
    summary = call.summary()
    assert summary.status is spec.status
    assert summary.answered is spec.answered
    assert summary.hangup is not None
    assert summary.hangup.cause_code == spec.cause_code
    assert summary.hangup.duration == spec.duration


@settings(max_examples=200, deadline=None)
@given(data=st.data(), spec=calls())
def test_two_orders_agree_on_everything_but_the_late_count(
    data: st.DataObject, spec: CallSpec
) -> None:
    one = final(spec, data.draw(deliveries(spec))).summary()
    two = final(spec, data.draw(deliveries(spec))).summary()
    assert (one.status, one.answered, one.hangup) == (two.status, two.answered, two.hangup)
    assert (one.parties, one.legs, one.dials) == (two.parties, two.legs, two.dials)
    assert one.conflicts == two.conflicts == 0


@settings(max_examples=200, deadline=None)
@given(data=st.data(), spec=calls())
def test_one_event_per_distinct_callback(data: st.DataObject, spec: CallSpec) -> None:
    call = final(spec, data.draw(deliveries(spec)))
    assert len(call.pending_events) == 1 + len({c.fingerprint for c in spec.callbacks})


# --- with hostile extras: callbacks no real call sends beside its own -------------------


def conflicting(call: Call) -> set[str]:
    """The fingerprints of the callbacks ``call`` recorded as conflicts."""
    return {
        event.fingerprint
        for event in call.pending_events
        if isinstance(event, Call.CallbackEvent) and event.verdict == Verdict.CONFLICT
    }


@settings(max_examples=300, deadline=None)
@given(data=st.data(), spec=calls())
def test_every_summary_is_consistent_and_the_first_outcomes_whatever_arrives(
    data: st.DataObject, spec: CallSpec
) -> None:
    call = Call.register(spec.call_uuid, T0)
    first: Callback | None = None  # the first outcome to arrive (every outcome is a hangup)
    for callback in data.draw(deliveries(spec, data.draw(hostile(spec)))):
        call.receive(callback)
        if first is None and callback.status in TERMINAL:
            first = callback
        summary = call.summary()
        assert not (summary.status in UNANSWERED and summary.answered), summary
        if first is not None:
            assert summary.status is first.status
            assert summary.hangup == hangup_report(first.params)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), spec=calls())
def test_a_conflict_changes_nothing_but_the_conflict_count(
    data: st.DataObject, spec: CallSpec
) -> None:
    order = data.draw(deliveries(spec, data.draw(hostile(spec))))
    call = final(spec, order)
    conflicts = conflicting(call)
    without = final(spec, [c for c in order if c.fingerprint not in conflicts]).summary()
    assert call.summary() == replace(without, conflicts=len(conflicts))


@settings(max_examples=200, deadline=None)
@given(data=st.data(), spec=calls())
def test_strays_never_change_the_outcome_and_never_answer_an_unanswered_call(
    data: st.DataObject, spec: CallSpec
) -> None:
    extra = data.draw(hostile(spec, other_outcomes=False))
    one = final(spec, data.draw(deliveries(spec, extra))).summary()
    two = final(spec, data.draw(deliveries(spec, extra))).summary()
    shown = spec.answered or any(shows_answer(c.params) for c in extra)
    assert one.status is spec.status
    assert one.answered is (shown and spec.status not in UNANSWERED)
    assert one.hangup == hangup_report(spec.callbacks[-1].params)
    assert (one.status, one.answered, one.hangup) == (two.status, two.answered, two.hangup)
    assert (one.parties, one.legs, one.dials) == (two.parties, two.legs, two.dials)
    assert one.conflicts == two.conflicts == 0
