"""The simulator's calls: reproducible, consistent, and ending where the domain says they do."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.call import Call
from domain.callbacks import Callback, CallbackKind
from simulator.calls import OUTCOMES, CallFactory, Profile, SimulatedCall, parse_mix

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def fold(call: SimulatedCall, order: list[int]) -> Call:
    """The domain's verdict on the call's callbacks, delivered in ``order``."""
    folded = Call.register(call.call_uuid, START)
    for index in order:
        request = call.requests[index]
        folded.receive(Callback.of(request.kind, dict(request.params), START))
    return folded


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32), shuffle=st.randoms(use_true_random=False))
def test_every_call_ends_as_declared_in_any_delivery_order(
    seed: int, shuffle: random.Random
) -> None:
    call = CallFactory(seed, start=START).call()
    order = list(range(len(call.requests)))
    shuffle.shuffle(order)
    folded = fold(call, order)
    assert folded.status is call.status
    assert folded.answered is call.answered
    assert folded.hangup is not None
    assert folded.hangup.cause_code == call.cause_code
    assert len(folded.fingerprints) == len(call.requests)  # no two callbacks alike


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_times_durations_and_legs_are_consistent(seed: int) -> None:
    call = CallFactory(seed, start=START).call()
    hangup = call.requests[-1].params
    assert call.requests[-1].kind is CallbackKind.HANGUP
    start, end = hangup["StartTime"], hangup["EndTime"]
    assert start <= end
    if call.answered:
        assert start <= hangup["AnswerTime"] <= end
        assert int(hangup["Duration"]) >= 1
    else:
        assert (hangup["AnswerTime"], hangup["Duration"]) == ("", "0")
    talk = int(hangup["Duration"])
    assert int(hangup["BillDuration"]) == -(-talk // 60) * 60
    legs = {r.params["DialBLegUUID"] for r in call.requests if r.kind is CallbackKind.DIAL_CALLBACK}
    for action in (r for r in call.requests if r.kind is CallbackKind.DIAL_ACTION):
        winner = action.params["DialBLegUUID"]
        assert winner in legs | {""}
        assert (action.params["DialStatus"] == "completed") == bool(winner)
    assert all(r.params["CallUUID"] == call.call_uuid for r in call.requests)


def test_the_same_seed_and_start_give_the_same_calls() -> None:
    def draw(seed: int) -> list[SimulatedCall]:
        factory = CallFactory(seed, start=START)
        return [factory.call() for _ in range(50)]

    assert draw(3) == draw(3)
    assert draw(3) != draw(4)


def test_the_mix_decides_the_outcomes() -> None:
    factory = CallFactory(1, Profile(mix={3010: 1.0, 4000: 1.0}), START)
    calls = [factory.call() for _ in range(400)]
    codes = {call.cause_code for call in calls}
    assert codes == {"3010", "4000"}
    busy = sum(call.cause_code == "3010" for call in calls)
    assert 150 < busy < 250  # about half, with room for chance
    inbound = sum(call.direction == "inbound" for call in calls)
    assert 80 < inbound < 160  # the default 30 %


def test_dials_include_simultaneous_legs_and_lost_races() -> None:
    factory = CallFactory(5, Profile(mix={4000: 1.0}), START)
    requests = [r for _ in range(300) for r in factory.call().requests]
    causes = {r.params.get("DialBLegHangupCauseCode") for r in requests}
    assert {"9000", "4000"} <= causes


def test_a_mix_is_parsed_and_bad_ones_are_refused_with_the_reason() -> None:
    assert parse_mix("4000:60, 3010:20") == {4000: 60.0, 3010: 20.0}
    with pytest.raises(ValueError, match="CODE:WEIGHT"):
        parse_mix("4000")
    with pytest.raises(ValueError, match="cannot be simulated"):
        parse_mix("7011:1")
    with pytest.raises(ValueError, match="positive"):
        parse_mix("4000:0")
    assert set(parse_mix(",".join(f"{code}:1" for code in OUTCOMES))) == set(OUTCOMES)
