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
    # Positional, in field order: see ``domain.legs.Leg``.
    return HangupReport(
        get("HangupCause", "").strip(),
        get("HangupCauseCode", "").strip(),
        get("HangupCauseName", "").strip(),
        get("HangupSource", "").strip(),
        to_int(get("Duration")),
        to_int(get("BillDuration")),
        get("StartTime", "").strip(),
        get("AnswerTime", "").strip(),
        get("EndTime", "").strip(),
    )


class Parties(NamedTuple):
    """Direction and numbers of a call, from the most authoritative callback seen."""

    direction: str = ""
    from_: str = ""
    to: str = ""
    authority: int = 0


# Plivo's ``From`` gains or loses a leading "+" between callbacks of one call, so the
# call's numbers come from the most authoritative kind, not from whichever came first.
# Steps of two leave room between them: a Call API record ranks just below the hangup
# request (``domain.reconciled.API_AUTHORITY``), so an agreeing record changes nothing.
AUTHORITY: Mapping[CallbackKind, int] = {
    CallbackKind.HANGUP: 8,
    CallbackKind.ANSWER: 6,
    CallbackKind.FALLBACK: 6,
    CallbackKind.RING: 4,
    CallbackKind.DIAL_ACTION: 2,
    CallbackKind.DIAL_CALLBACK: 2,
}


def better_parties(current: Parties, kind: CallbackKind, params: Mapping[str, str]) -> Parties:
    """Keep ``current`` unless this callback's kind is more authoritative."""
    authority = AUTHORITY[kind]
    if authority <= current.authority:
        return current
    get = params.get
    # Positional (direction, from, to, authority): see ``hangup_report``.
    return Parties(
        get("Direction", "").strip(), get("From", "").strip(), get("To", "").strip(), authority
    )
