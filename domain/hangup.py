"""What a ``hangup_url`` request says about how a call ended, and who was on it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from domain.callbacks import CallbackKind, to_int


class HangupReport(NamedTuple):
    """The hangup fields, verbatim but trimmed; durations parsed (``None`` if absent)."""

    cause: str
    cause_code: str
    cause_name: str
    source: str
    duration: int | None
    bill_duration: int | None
    start_time: str
    answer_time: str
    end_time: str


def hangup_report(params: Mapping[str, str]) -> HangupReport:
    """Read the hangup fields of one callback; never raises, blanks stay blank."""
    get = params.get
    return HangupReport(
        cause=get("HangupCause", "").strip(),
        cause_code=get("HangupCauseCode", "").strip(),
        cause_name=get("HangupCauseName", "").strip(),
        source=get("HangupSource", "").strip(),
        duration=to_int(get("Duration")),
        bill_duration=to_int(get("BillDuration")),
        start_time=get("StartTime", "").strip(),
        answer_time=get("AnswerTime", "").strip(),
        end_time=get("EndTime", "").strip(),
    )


class Parties(NamedTuple):
    """Direction and numbers of a call, from the most authoritative callback seen."""

    direction: str = ""
    from_: str = ""
    to: str = ""
    authority: int = 0


# Plivo's ``From`` gains or loses a leading "+" between callbacks of one call, so the
# call's numbers come from the most authoritative kind, not from whichever came first.
AUTHORITY: Mapping[CallbackKind, int] = {
    CallbackKind.HANGUP: 4,
    CallbackKind.ANSWER: 3,
    CallbackKind.FALLBACK: 3,
    CallbackKind.RING: 2,
    CallbackKind.DIAL_ACTION: 1,
    CallbackKind.DIAL_CALLBACK: 1,
}


def better_parties(current: Parties, kind: CallbackKind, params: Mapping[str, str]) -> Parties:
    """Keep ``current`` unless this callback's kind is more authoritative."""
    authority = AUTHORITY[kind]
    if authority <= current.authority:
        return current
    return Parties(
        direction=params.get("Direction", "").strip(),
        from_=params.get("From", "").strip(),
        to=params.get("To", "").strip(),
        authority=authority,
    )
