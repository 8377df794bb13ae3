"""Realistic Plivo callback payloads, shaped on the captured bodies in the protocol reference."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from domain.callbacks import Callback, CallbackKind
from domain.status import CallStatus

T0 = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)

# status -> (HangupCauseCode, HangupCause, HangupCauseName, HangupSource) of unanswered ends
UNANSWERED: dict[CallStatus, tuple[str, str, str, str]] = {
    CallStatus.BUSY: ("3010", "USER_BUSY", "Busy Line", "Carrier"),
    CallStatus.NO_ANSWER: ("3000", "NO_ANSWER", "No Answer", "Carrier"),
    CallStatus.FAILED: ("2000", "UNALLOCATED_NUMBER", "Invalid Destination Address", "Plivo"),
    CallStatus.TIMEOUT: ("6010", "NO_ANSWER", "Ring Timeout Reached", "Plivo"),
    CallStatus.CANCEL: ("1000", "ORIGINATOR_CANCEL", "Canceled", "API Request"),
}


def new_uuid() -> str:
    """A fresh Plivo-style UUID string."""
    return str(uuid.uuid4())


def stamp(at: datetime) -> str:
    """Plivo's ``YYYY-MM-DD HH:MM:SS`` time format."""
    return at.strftime("%Y-%m-%d %H:%M:%S")


def cb(kind: CallbackKind, params: dict[str, str], at: datetime = T0) -> Callback:
    """A callback of ``kind`` received ``at``."""
    return Callback.of(kind, params, at)


@dataclass
class CallSpec:
    """One generated call and what its final state must be, whatever the arrival order."""

    call_uuid: str
    direction: str
    callbacks: list[Callback] = field(default_factory=list)
    status: CallStatus = CallStatus.COMPLETED
    answered: bool = False
    cause_code: str = ""
    duration: int = 0


def common(spec: CallSpec, status: CallStatus, event: str) -> dict[str, str]:
    """The parameters every call callback carries."""
    outbound = spec.direction == "outbound"
    return {
        "CallUUID": spec.call_uuid,
        "CallStatus": status.value,
        "Direction": spec.direction,
        "Event": event,
        "From": "918035735900" if outbound else "14155550100",
        "To": "14155550123" if outbound else "918035735900",
        "RequestUUID": spec.call_uuid,
        "ParentAuthID": "MAZJKYZTK2ZDHMYWU3ZD",
        "SessionStart": "2026-03-01 09:00:00.123456",
        "STIRAttestation": "Not Applicable",
    }


NORMAL = ("4000", "NORMAL_CLEARING", "Normal Hangup", "Callee")


def hangup(
    spec: CallSpec,
    talk: int,
    code: tuple[str, str, str, str],
    status: CallStatus | None = None,
) -> Callback:
    """The hangup_url request ending ``spec`` (or reporting ``status`` for it) after ``talk``
    seconds (0: unanswered)."""
    answered_at = T0 + timedelta(seconds=10)
    params = common(spec, status or spec.status, "Hangup") | {
        "AnswerTime": stamp(answered_at) if talk else "",
        "BillDuration": str(-(-talk // 60) * 60),
        "BillRate": "0.005",
        "Duration": str(talk),
        "StartTime": stamp(T0),
        "EndTime": stamp(answered_at + timedelta(seconds=talk)),
        "HangupCauseCode": code[0],
        "HangupCause": code[1],
        "HangupCauseName": code[2],
        "HangupSource": code[3],
        "TotalCost": "0.01000" if talk else "0.00000",
    }
    if spec.direction == "outbound" and talk:
        params |= {"ALegUUID": spec.call_uuid, "ALegRequestUUID": spec.call_uuid}
    return cb(CallbackKind.HANGUP, params)


def dial_legs(spec: CallSpec, answered_leg: bool, losers: int) -> list[Callback]:
    """Dial callbackUrl events for each B leg, then the one Dial action."""
    a_status = CallStatus.IN_PROGRESS
    out: list[Callback] = []
    winner = new_uuid() if answered_leg else ""
    for _ in range(losers):
        loser = new_uuid()
        out.append(leg_event(spec, loser, "hangup", a_status, ("9000", "LOSE_RACE", "Lost Race")))
    if winner:
        out.append(leg_event(spec, winner, "answer", a_status))
        out.append(leg_event(spec, winner, "connected", a_status))
        code = ("4000", "NORMAL_CLEARING", "Normal Hangup")
        out.append(leg_event(spec, winner, "hangup", a_status, code, duration=30))
    action = common(spec, a_status, "Redirect") | {
        "DialStatus": "completed" if winner else "no-answer",
        "DialRingStatus": "true",
        "DialHangupCause": "NORMAL_CLEARING" if winner else "NO_ANSWER",
        "DialALegUUID": spec.call_uuid,
        "DialBLegUUID": winner,
    }
    out.append(cb(CallbackKind.DIAL_ACTION, action))
    return out


def leg_event(
    spec: CallSpec,
    leg: str,
    action: str,
    a_status: CallStatus,
    code: tuple[str, str, str] | None = None,
    duration: int = 0,
) -> Callback:
    """One Dial callbackUrl request about B leg ``leg``."""
    params = common(spec, a_status, "Dial" + action.capitalize()) | {
        "DialAction": action,
        "DialALegUUID": spec.call_uuid,
        "DialBLegUUID": leg,
        "DialBLegTo": "14155550999",
    }
    if code:
        params |= {
            "DialBLegHangupCauseCode": code[0],
            "DialBLegHangupCause": code[1],
            "DialBLegHangupCauseName": code[2],
            "DialBLegHangupSource": "Callee",
            "DialBLegDuration": str(duration),
            "DialBLegBillDuration": str(-(-duration // 60) * 60),
        }
    return cb(CallbackKind.DIAL_CALLBACK, params)


def outbound(
    outcome: CallStatus,
    talk: int = 66,
    ring: bool = True,
    losers: int = 0,
    dial_answered: bool = True,
) -> CallSpec:
    """An outbound API call: [ring] → [answer → dial → …] → hangup."""
    spec = CallSpec(new_uuid(), "outbound", status=outcome)
    if ring:
        spec.callbacks.append(cb(CallbackKind.RING, common(spec, CallStatus.RINGING, "Ring")))
    if outcome is CallStatus.COMPLETED:
        answer = common(spec, CallStatus.IN_PROGRESS, "StartApp")
        spec.callbacks.append(cb(CallbackKind.ANSWER, answer))
        spec.callbacks += dial_legs(spec, answered_leg=dial_answered, losers=losers)
        spec.callbacks.append(hangup(spec, talk, NORMAL))
        spec.answered, spec.cause_code, spec.duration = True, "4000", talk
    else:
        spec.callbacks.append(hangup(spec, 0, UNANSWERED[outcome]))
        spec.cause_code = UNANSWERED[outcome][0]
    return spec


def inbound(answered: bool, talk: int = 42, losers: int = 0) -> CallSpec:
    """An inbound call: answer_url (ringing) → [dial] → hangup; or rejected before answer."""
    spec = CallSpec(new_uuid(), "inbound")
    spec.callbacks.append(cb(CallbackKind.ANSWER, common(spec, CallStatus.RINGING, "StartApp")))
    if answered:
        spec.callbacks += dial_legs(spec, answered_leg=True, losers=losers)
        code = ("4000", "NORMAL_CLEARING", "Normal Hangup", "Caller")
        spec.callbacks.append(hangup(spec, talk, code))
        spec.answered, spec.cause_code, spec.duration = True, "4000", talk
    else:
        code = ("3020", "CALL_REJECTED", "Rejected", "Answer XML")
        spec.callbacks.append(hangup(spec, 0, code))
        spec.cause_code = "3020"
    return spec


def other_outcome(spec: CallSpec, status: CallStatus, talk: int) -> Callback:
    """A hangup reporting ``status`` for ``spec``'s call, answered if ``talk`` > 0: a second,
    different outcome when ``status`` is not the call's (Plivo never sends one)."""
    return hangup(spec, talk, UNANSWERED.get(status, NORMAL), status)


def stray(spec: CallSpec, kind: CallbackKind, status: CallStatus, answer_time: bool) -> Callback:
    """A callback of ``kind`` reporting ``status``, with an ``AnswerTime`` if asked: at odds
    with an unanswered call (an ``in-progress`` before or after its busy hangup)."""
    params = common(spec, status, "Stray") | {"X-PH-Stray": new_uuid()}
    if answer_time:
        params["AnswerTime"] = stamp(T0 + timedelta(seconds=10))
    return cb(kind, params)
