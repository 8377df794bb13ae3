"""The domain's named tuples are built positionally (cheap on the replay path): each
construction must put every value in its own field. Distinct random values per parameter
make a swapped position show up as a value in the wrong field."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.callbacks import CallbackKind, to_int
from domain.hangup import AUTHORITY, Parties, better_parties, hangup_report
from domain.legs import Leg, dial_outcome, merge_action, merge_callback

texts = st.text(alphabet="abcdefghij", min_size=1, max_size=8)
counts = st.integers(min_value=1, max_value=10_000).map(str)


@given(st.lists(texts, min_size=7, max_size=7, unique=True), counts, counts)
def test_a_hangup_report_puts_each_parameter_in_its_field(
    words: list[str], duration: str, billed: str
) -> None:
    cause, code, name, source, start, answer, end = words
    params = {
        "HangupCause": cause,
        "HangupCauseCode": code,
        "HangupCauseName": name,
        "HangupSource": source,
        "Duration": duration,
        "BillDuration": billed,
        "StartTime": start,
        "AnswerTime": answer,
        "EndTime": end,
    }
    report = hangup_report(params)
    assert report._asdict() == {
        "cause": cause,
        "cause_code": code,
        "cause_name": name,
        "source": source,
        "duration": int(duration),
        "bill_duration": int(billed),
        "start_time": start,
        "answer_time": answer,
        "end_time": end,
    }


@given(st.lists(texts, min_size=3, max_size=3, unique=True))
def test_parties_put_each_parameter_in_its_field(words: list[str]) -> None:
    direction, from_, to = words
    params = {"Direction": direction, "From": from_, "To": to}
    parties = better_parties(Parties(), CallbackKind.HANGUP, params)
    assert parties == Parties(
        direction=direction, from_=from_, to=to, authority=AUTHORITY[CallbackKind.HANGUP]
    )


@given(st.lists(texts, min_size=4, max_size=4, unique=True))
def test_a_dial_outcome_puts_each_parameter_in_its_field(words: list[str]) -> None:
    status, ring, cause, leg = words
    params = {
        "DialStatus": status,
        "DialRingStatus": ring,
        "DialHangupCause": cause,
        "DialBLegUUID": leg,
    }
    outcome = dial_outcome(params)
    assert outcome._asdict() == {
        "status": status,
        "ring_status": ring,
        "hangup_cause": cause,
        "b_leg_uuid": leg,
    }


@given(st.lists(texts, min_size=7, max_size=7, unique=True), counts, counts)
def test_a_leg_from_its_callbacks_and_action_puts_each_value_in_its_field(
    words: list[str], duration: str, billed: str
) -> None:
    uuid, to, cause, code, name, source, dial_status = words
    answered = merge_callback(None, uuid, {"DialAction": "answer", "DialBLegTo": to})
    hung_up = merge_callback(
        answered,
        uuid,
        {
            "DialAction": "hangup",
            "DialBLegHangupCause": cause,
            "DialBLegHangupCauseCode": code,
            "DialBLegHangupCauseName": name,
            "DialBLegHangupSource": source,
            "DialBLegDuration": duration,
            "DialBLegBillDuration": billed,
        },
    )
    leg = merge_action(hung_up, dial_outcome({"DialStatus": dial_status, "DialBLegUUID": uuid}))
    assert leg == Leg(
        uuid=uuid,
        status="hangup",
        answered=True,
        to=to,
        hangup_cause=cause,
        hangup_cause_code=code,
        hangup_cause_name=name,
        hangup_source=source,
        duration=to_int(duration),
        bill_duration=to_int(billed),
        dial_status=dial_status,
    )
    # Later callbacks keep every field where it is.
    again = merge_callback(leg, uuid, {"DialAction": "connected"})
    assert again == leg
