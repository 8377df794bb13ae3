"""A Call API record is decided like a hangup: it ends an open call, repeats an outcome
already known, or conflicts with it (kept, the summary unchanged); and wherever it
arrives among the webhooks, the call ends the same."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.call import Call, Received
from domain.callbacks import Callback, CallbackKind
from domain.reconciled import ApiRecord, local_time, record_status
from domain.status import CallStatus, Verdict
from tests.factories import T0, CallSpec, outbound
from tests.records import leg_records, read, record_of
from tests.strategies import calls


def fed(spec: CallSpec, items: Sequence[Received]) -> Call:
    call = Call.register(spec.call_uuid, T0)
    for item in items:
        call.receive(item)
    return call


def without_hangup(spec: CallSpec) -> list[Received]:
    return [c for c in spec.callbacks if c.kind is not CallbackKind.HANGUP]


def test_a_record_ends_an_open_call_as_its_hangup_would() -> None:
    spec = outbound(CallStatus.COMPLETED, talk=66)
    call = fed(spec, without_hangup(spec))
    assert call.status is CallStatus.IN_PROGRESS
    assert call.receive(read(record_of(spec))) is Verdict.ADVANCED
    summary, expected = call.summary(), fed(spec, spec.callbacks).summary()
    assert (summary.status, summary.answered) == (CallStatus.COMPLETED, True)
    assert summary.hangup is not None
    assert expected.hangup is not None
    assert summary.hangup.cause_code == "4000" == expected.hangup.cause_code
    assert summary.hangup.duration == 66
    assert summary.hangup.start_time == expected.hangup.start_time  # offset dropped
    assert isinstance(call.pending_events[-1], Call.Reconciled)
    assert call.pending_events[-1].record["call_duration"] == 66  # verbatim
    assert call.completed_by_api


def test_an_agreeing_record_is_repeated_and_changes_nothing() -> None:
    spec = outbound(CallStatus.BUSY)
    call = fed(spec, spec.callbacks)
    before = call.summary()
    assert call.receive(read(record_of(spec))) is Verdict.REPEATED
    assert call.summary() == before
    assert not call.completed_by_api


def test_a_disagreeing_record_is_a_conflict_kept_and_the_summary_unchanged() -> None:
    spec = outbound(CallStatus.COMPLETED)
    call = fed(spec, spec.callbacks)
    before = call.summary()
    busy = record_of(spec, call_state="BUSY", answer_time=None, hangup_cause_code=3010)
    assert call.receive(read(busy)) is Verdict.CONFLICT
    other_cause = record_of(spec, hangup_cause_code=4010)  # same status, another cause
    assert call.receive(read(other_cause)) is Verdict.CONFLICT
    after = call.summary()
    assert after.conflicts == 2
    assert (after.status, after.answered, after.hangup) == (
        before.status,
        before.answered,
        before.hangup,
    )
    assert [type(e).__name__ for e in call.pending_events[-2:]] == ["Reconciled"] * 2


def test_the_same_record_read_twice_is_a_duplicate_whichever_request_read_it() -> None:
    spec = outbound(CallStatus.NO_ANSWER)
    call = fed(spec, [])
    assert call.receive(read(record_of(spec), source="calls.list")) is Verdict.ADVANCED
    later = read(record_of(spec), T0 + timedelta(hours=1), "calls.get")
    assert call.receive(later) is Verdict.DUPLICATE


def test_a_record_whose_outcome_cannot_be_read_is_kept_and_the_call_stays_open() -> None:
    spec = outbound(CallStatus.COMPLETED)
    call = fed(spec, without_hangup(spec))
    odd = record_of(spec, call_state="SOMETHING_NEW", answer_time=None)
    assert record_status(odd) is None
    assert call.receive(read(odd)) is Verdict.UNRECOGNISED
    assert call.status is CallStatus.IN_PROGRESS


def test_b_leg_records_attach_to_their_a_leg_call() -> None:
    spec = outbound(CallStatus.COMPLETED, losers=2)
    records = [read(r) for r in leg_records(spec)]
    assert {r.call_uuid for r in records} == {spec.call_uuid}
    call = fed(spec, [read(record_of(spec)), *records])
    assert len(call.legs) == 3
    assert {leg.hangup_cause_code for leg in call.legs.values()} == {"4000", "9000"}
    answered = [leg for leg in call.legs.values() if leg.answered]
    assert len(answered) == 1
    assert answered[0].duration == 30


def test_record_times_lose_only_their_offset() -> None:
    assert local_time("2026-11-02 13:30:00+05:30") == "2026-11-02 13:30:00"
    assert local_time(None) == ""


def _arrivals(data: st.DataObject, sent: list[Received]) -> list[Received]:
    draw = data.draw
    order = list(draw(st.permutations(sent)))
    for again in draw(st.lists(st.sampled_from(sent), max_size=3)):
        order.insert(draw(st.integers(0, len(order))), again)
    return [_at(item, T0 + timedelta(milliseconds=250 * i)) for i, item in enumerate(order)]


def _at(item: Received, moment: datetime) -> Received:
    if isinstance(item, ApiRecord):
        return ApiRecord.of(item.record, item.source, moment)
    return Callback.of(item.kind, item.params, moment)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), spec=calls(), dropped=st.booleans())
def test_a_record_anywhere_among_the_webhooks_gives_the_rules_final_state(
    data: st.DataObject, spec: CallSpec, dropped: bool
) -> None:
    """With or without its hangup request, in any order, with redeliveries: the status,
    answer and outcome of the call as sent; the hangup request's facts when it came."""
    webhooks = without_hangup(spec) if dropped else list(spec.callbacks)
    sent: list[Received] = [*webhooks, read(record_of(spec))]
    one = fed(spec, _arrivals(data, sent)).summary()
    two = fed(spec, _arrivals(data, sent)).summary()
    assert one.status is spec.status
    assert one.answered is spec.answered
    assert one.hangup is not None
    assert one.hangup.cause_code == spec.cause_code
    assert one.hangup.duration == spec.duration
    assert (one.status, one.answered, one.hangup) == (two.status, two.answered, two.hangup)
    assert (one.parties, one.legs, one.dials) == (two.parties, two.legs, two.dials)
    assert one.conflicts == two.conflicts == 0
    if not dropped:
        alone = fed(spec, list(spec.callbacks)).summary()
        assert one.hangup == alone.hangup  # the webhook's facts win, whatever came first


@settings(max_examples=100, deadline=None)
@given(data=st.data(), spec=calls())
def test_a_call_known_only_from_records_ends_the_same_in_any_order(
    data: st.DataObject, spec: CallSpec
) -> None:
    sent: list[Received] = [read(r) for r in [record_of(spec), *leg_records(spec)]]
    one = fed(spec, _arrivals(data, sent)).summary()
    two = fed(spec, _arrivals(data, sent)).summary()
    assert (one.status, one.answered) == (spec.status, spec.answered)
    assert one == two
