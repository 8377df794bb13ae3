"""The final state of a call must not depend on the order its callbacks arrive in."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.call import Call
from domain.callbacks import Callback
from tests.factories import T0, CallSpec
from tests.strategies import calls, deliveries


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
