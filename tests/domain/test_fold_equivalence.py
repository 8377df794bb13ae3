"""The folds written for replay speed give exactly what the plain versions they replaced
gave, on arbitrary params (blanks, padding, odd case, junk durations) and any prior leg."""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import given
from hypothesis import strategies as st

from domain.callbacks import to_int
from domain.hangup import HangupReport, hangup_report
from domain.legs import LEG_RANK, DialOutcome, Leg, dial_outcome, merge_action, merge_callback

# Reference implementations: the code before it was tuned.


def _reference_merge_callback(leg: Leg | None, uuid: str, params: Mapping[str, str]) -> Leg:
    current = leg or Leg(uuid=uuid)
    action = (params.get("DialAction") or params.get("DialBLegStatus") or "").strip().lower()
    rank = LEG_RANK.get(action, 0)
    status = action if rank > LEG_RANK.get(current.status, 0) else current.status
    if status == "digits":
        status = "connected"
    answered = (
        current.answered or rank in (1, 2) or (to_int(params.get("DialBLegDuration")) or 0) > 0
    )
    merged = current._replace(
        status=status,
        answered=answered,
        to=current.to or params.get("DialBLegTo", "").strip(),
    )
    if action != "hangup" or current.hangup_cause or current.hangup_cause_code:
        return merged
    return merged._replace(
        hangup_cause=params.get("DialBLegHangupCause", "").strip(),
        hangup_cause_code=params.get("DialBLegHangupCauseCode", "").strip(),
        hangup_cause_name=params.get("DialBLegHangupCauseName", "").strip(),
        hangup_source=params.get("DialBLegHangupSource", "").strip(),
        duration=to_int(params.get("DialBLegDuration")),
        bill_duration=to_int(params.get("DialBLegBillDuration")),
    )


def _reference_merge_action(leg: Leg | None, outcome: DialOutcome) -> Leg:
    current = leg or Leg(uuid=outcome.b_leg_uuid)
    return current._replace(answered=True, dial_status=current.dial_status or outcome.status)


def _reference_hangup_report(params: Mapping[str, str]) -> HangupReport:
    def text(name: str) -> str:
        return params.get(name, "").strip()

    return HangupReport(
        cause=text("HangupCause"),
        cause_code=text("HangupCauseCode"),
        cause_name=text("HangupCauseName"),
        source=text("HangupSource"),
        duration=to_int(params.get("Duration")),
        bill_duration=to_int(params.get("BillDuration")),
        start_time=text("StartTime"),
        answer_time=text("AnswerTime"),
        end_time=text("EndTime"),
    )


_words = st.sampled_from(
    ["", " ", "answer", "Answer ", "connected", "digits", "hangup", " HANGUP", "x", "0", "12"]
)
_numbers = st.sampled_from(["", "0", "7", " 42 ", "-1", "1e3", "٣", "9" * 20, "abc"])
_text = st.one_of(_words, st.text(max_size=6))
_LEG_KEYS = {
    "DialAction": _words,
    "DialBLegStatus": _words,
    "DialBLegTo": _text,
    "DialBLegDuration": _numbers,
    "DialBLegBillDuration": _numbers,
    "DialBLegHangupCause": _text,
    "DialBLegHangupCauseCode": _text,
    "DialBLegHangupCauseName": _text,
    "DialBLegHangupSource": _text,
    "DialStatus": _text,
    "DialRingStatus": _text,
    "DialHangupCause": _text,
    "DialBLegUUID": st.sampled_from(["", "b-1", " b-2 "]),
}
_HANGUP_TEXT = (
    "HangupCause",
    "HangupCauseCode",
    "HangupCauseName",
    "HangupSource",
    "StartTime",
    "AnswerTime",
    "EndTime",
)
_HANGUP_KEYS = dict.fromkeys(_HANGUP_TEXT, _text) | {"Duration": _numbers, "BillDuration": _numbers}


def _params(keys: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries({}, optional=keys)


_legs = st.one_of(
    st.none(),
    st.builds(
        Leg,
        uuid=st.just("b-1"),
        status=st.sampled_from(["", "answer", "connected", "hangup", "odd"]),
        answered=st.booleans(),
        to=_text,
        hangup_cause=_text,
        hangup_cause_code=_text,
        hangup_cause_name=_text,
        hangup_source=_text,
        duration=st.none() | st.integers(0, 99),
        bill_duration=st.none() | st.integers(0, 99),
        dial_status=_text,
    ),
)


@given(leg=_legs, params=_params(_LEG_KEYS))
def test_merge_callback_is_unchanged(leg: Leg | None, params: dict[str, str]) -> None:
    assert merge_callback(leg, "b-1", params) == _reference_merge_callback(leg, "b-1", params)


@given(leg=_legs, params=_params(_LEG_KEYS))
def test_merge_action_is_unchanged(leg: Leg | None, params: dict[str, str]) -> None:
    outcome = dial_outcome(params)
    assert merge_action(leg, outcome) == _reference_merge_action(leg, outcome)


@given(params=_params(_HANGUP_KEYS))
def test_hangup_report_is_unchanged(params: dict[str, str]) -> None:
    assert hangup_report(params) == _reference_hangup_report(params)
