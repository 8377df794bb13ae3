"""Call statuses, the transition table, and the one function that judges a reported status.

Plivo gives no sequence numbers and no ordering guarantee, so a status is judged only by
its rank against the call's current status: a callback either moves the call forward
along ``TRANSITIONS`` or is recorded with a verdict that says why it did not.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class CallStatus(StrEnum):
    """The ``CallStatus`` values Plivo documents (``docs``: seven or eight, by page)."""

    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    CANCEL = "cancel"
    TIMEOUT = "timeout"
    FAILED = "failed"


class Verdict(StrEnum):
    """What a callback did to its call."""

    ADVANCED = "advanced"  # moved the call to a new status
    REPEATED = "repeated"  # reported the status the call already has (new information)
    LATE = "late"  # reported a status of lower rank than the call's
    CONFLICT = "conflict"  # a second, different terminal outcome
    UNRECOGNISED = "unrecognised"  # no CallStatus, or one Plivo does not document
    DUPLICATE = "duplicate"  # a redelivery of a callback already recorded (not stored)


TERMINAL: frozenset[CallStatus] = frozenset(
    {
        CallStatus.COMPLETED,
        CallStatus.BUSY,
        CallStatus.NO_ANSWER,
        CallStatus.CANCEL,
        CallStatus.TIMEOUT,
        CallStatus.FAILED,
    }
)

# The outcomes that say the call was never answered: busy, no-answer, cancel and timeout
# end a call before answer, and failed is a call that "could not connect" (protocol notes
# §2.1, §2.4: all five come with an empty ``AnswerTime`` and ``Duration=0``). Only
# ``completed`` may end an answered call.
UNANSWERED: frozenset[CallStatus] = TERMINAL - {CallStatus.COMPLETED}

# The rule table. ``None`` is a call not seen yet. In-progress may end in any terminal
# status, not only ``completed``: a hangup's status must win whatever order the answer
# and hangup callbacks arrive in, or the final state would depend on arrival order.
TRANSITIONS: Mapping[CallStatus | None, frozenset[CallStatus]] = {
    None: frozenset({CallStatus.RINGING, CallStatus.IN_PROGRESS}) | TERMINAL,
    CallStatus.RINGING: frozenset({CallStatus.IN_PROGRESS}) | TERMINAL,
    CallStatus.IN_PROGRESS: TERMINAL,
    # Terminal rows in declaration order, so generated docs are stable.
    **{status: frozenset() for status in CallStatus if status in TERMINAL},
}

RANK: Mapping[CallStatus, int] = {
    CallStatus.RINGING: 1,
    CallStatus.IN_PROGRESS: 2,
    **{status: 3 for status in CallStatus if status in TERMINAL},
}

_BY_VALUE: Mapping[str, CallStatus] = {status.value: status for status in CallStatus}
# A status as plain text ("" for none): a dict lookup, cheaper than an enum's ``.value``.
STATUS_TEXT: Mapping[CallStatus | None, str] = {None: "", **{s: s.value for s in CallStatus}}


def parse_status(reported: str | None) -> CallStatus | None:
    """The documented status for a raw ``CallStatus`` value, or ``None`` if unknown or blank.

    Matching ignores case and surrounding blanks; the raw value itself stays in the
    callback's params, so nothing Plivo sent is lost.
    """
    if not reported:
        return None
    return _BY_VALUE.get(reported) or _BY_VALUE.get(reported.strip().lower())


def classify(current: CallStatus | None, reported: CallStatus | None) -> Verdict:
    """Judge a reported status against the call's current one.

    This is the only code that decides whether a callback advances a call.
    """
    if reported is None:
        return Verdict.UNRECOGNISED
    if reported in TRANSITIONS[current]:
        return Verdict.ADVANCED
    if reported == current:
        return Verdict.REPEATED
    assert current is not None  # every status is reachable from a new call
    if current in TERMINAL and reported in TERMINAL:
        return Verdict.CONFLICT
    return Verdict.LATE
