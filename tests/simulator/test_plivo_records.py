"""Call detail records say what the webhooks of the same call said: times, durations, causes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.callbacks import CallbackKind
from simulator.calls import OUTCOMES, CallFactory, SimulatedCall
from simulator.plivo_records import Record, conflicting, records_of
from tests.call_api import AUTH_ID, START

ZONES = st.sampled_from([UTC, ZoneInfo("Asia/Kolkata"), ZoneInfo("America/Los_Angeles")])


def instant(text: str) -> datetime:
    """A webhook time (UTC, no offset) or a record time (with its offset)."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def hangup_of(call: SimulatedCall) -> dict[str, str]:
    return next(dict(r.params) for r in call.requests if r.kind is CallbackKind.HANGUP)


def assert_a_leg_agrees(call: SimulatedCall, record: Record) -> None:
    hangup = hangup_of(call)
    assert record["call_uuid"] == call.call_uuid
    assert record["parent_call_uuid"] is None
    assert instant(record["initiation_time"]) == instant(hangup["StartTime"])
    assert instant(record["end_time"]) == instant(hangup["EndTime"])
    if call.answered:
        assert instant(record["answer_time"]) == instant(hangup["AnswerTime"])
    else:
        assert record["answer_time"] is None
    assert record["call_state"] == ("ANSWER" if call.answered else call.status.name)
    assert record["call_duration"] == record["bill_duration"] == int(hangup["Duration"])
    assert record["billed_duration"] == int(hangup["BillDuration"])
    assert record["hangup_cause_code"] == int(call.cause_code)
    assert record["hangup_cause_name"] == hangup["HangupCauseName"]
    assert record["hangup_source"] == hangup["HangupSource"]
    assert record["call_direction"] == call.direction
    assert record["from_number"].lstrip("+") == hangup["From"].lstrip("+")


def assert_b_legs_agree(call: SimulatedCall, a_leg: Record, legs: list[Record]) -> None:
    dialled = [r.params for r in call.requests if r.kind is CallbackKind.DIAL_CALLBACK]
    hangups = {p["DialBLegUUID"]: p for p in dialled if p["DialAction"] == "hangup"}
    answered = {p["DialBLegUUID"] for p in dialled if p["DialAction"] == "answer"}
    assert {leg["call_uuid"] for leg in legs} == set(hangups)
    for leg in legs:
        end = hangups[leg["call_uuid"]]
        assert leg["parent_call_uuid"] == call.call_uuid
        assert leg["hangup_cause_code"] == int(end["DialBLegHangupCauseCode"])
        assert leg["call_duration"] == int(end["DialBLegDuration"])
        assert (leg["answer_time"] is not None) == (leg["call_uuid"] in answered)
        times = [leg["initiation_time"], leg["answer_time"], leg["end_time"], a_leg["end_time"]]
        moments = [instant(t) for t in times if t is not None]
        assert moments == sorted(moments)
        assert instant(leg["initiation_time"]) >= instant(a_leg["answer_time"])


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32), zone=ZONES)
def test_every_record_agrees_with_the_webhooks_of_its_call(seed: int, zone: ZoneInfo) -> None:
    call = CallFactory(seed, start=START).call()
    a_leg, *legs = records_of(call, AUTH_ID, zone)
    assert_a_leg_agrees(call, a_leg)
    assert_b_legs_agree(call, a_leg, legs)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32), zone=ZONES)
def test_times_are_written_in_the_account_zone_with_its_offset(seed: int, zone: ZoneInfo) -> None:
    call = CallFactory(seed, start=START).call()
    for record in records_of(call, AUTH_ID, zone):
        end = datetime.fromisoformat(record["end_time"])
        assert end.utcoffset() == end.astimezone(zone).utcoffset()
        assert record["end_time"] == end.astimezone(zone).isoformat(sep=" ")


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_a_conflicting_record_tells_another_outcome_consistently(seed: int) -> None:
    call = CallFactory(seed, start=START).call()
    record = records_of(call, AUTH_ID)[0]
    other = conflicting(record)
    code = other["hangup_cause_code"]
    assert OUTCOMES[code].status is not call.status
    assert not OUTCOMES[code].answered
    assert other["answer_time"] is None
    assert other["call_duration"] == other["billed_duration"] == 0
    assert other["call_state"] != "ANSWER"
    assert {k: v for k, v in other.items() if k not in _OUTCOME} == {
        k: v for k, v in record.items() if k not in _OUTCOME
    }


_OUTCOME = {
    "hangup_cause_code",
    "hangup_cause_name",
    "hangup_source",
    "call_state",
    "answer_time",
    "call_duration",
    "bill_duration",
    "billed_duration",
    "total_amount",
}
