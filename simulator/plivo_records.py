"""Plivo's call detail records of a simulated call, derived from the callbacks it sent.

Every field comes from the call's own requests, so a record agrees with the webhooks:
the A leg's from its hangup (start, answer and end times, durations, cost, cause), each
B leg's from its Dial callbacks (the answer and hangup events, ``DialBLeg*`` cause and
durations), with ``parent_call_uuid`` naming the A leg. A B leg starts when the Dial
does, after the A leg's answer. Times are written as the Call API writes them: in the
account time zone with its offset (``2026-11-02 13:30:00+05:30``); the simulator's
webhooks are stamped in UTC, so ``zone`` only changes how the same instants are written.

Published Call API output shows ``call_state: "ANSWER"`` for answered calls; the values
for unanswered ones are not documented, and these records use the call status in
upper case (``BUSY``, ``NO_ANSWER``, ...). Decide outcomes by ``hangup_cause_code`` and
``answer_time``, as calltrail does with webhooks, not by ``call_state``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from domain.callbacks import CallbackKind
from domain.hangup_causes import lookup
from domain.status import CallStatus
from simulator.calls import OUTCOMES, SimulatedCall

Record = dict[str, Any]
"""One call detail record, as the Call API's JSON object."""

SOURCE_IP = "192.0.2.10"  # a documentation address (RFC 5737)

_UNANSWERED_STATES: Mapping[CallStatus, str] = {
    CallStatus.BUSY: "BUSY",
    CallStatus.NO_ANSWER: "NO_ANSWER",
    CallStatus.CANCEL: "CANCEL",
    CallStatus.FAILED: "FAILED",
    CallStatus.TIMEOUT: "TIMEOUT",
    CallStatus.COMPLETED: "FAILED",  # completed without an answer: nothing was connected
}
_LEG_STATES: Mapping[str, str] = {"3000": "NO_ANSWER", "9000": "CANCEL"}


def records_of(call: SimulatedCall, auth_id: str, zone: tzinfo = UTC) -> list[Record]:
    """The call's records: its A leg first, then one per B leg its Dial rang."""
    hangup = _params(call, CallbackKind.HANGUP)[0]
    a_leg = _a_leg(call, hangup, auth_id, zone)
    legs: dict[str, list[Mapping[str, str]]] = {}
    for params in _params(call, CallbackKind.DIAL_CALLBACK):
        legs.setdefault(params["DialBLegUUID"], []).append(params)
    dial_start = a_leg["answer_time"] or a_leg["initiation_time"]
    return [a_leg] + [
        _b_leg(call, uuid, events, dial_start, auth_id, zone) for uuid, events in legs.items()
    ]


def live_record(call: SimulatedCall) -> Record:
    """The call as ``live_calls.get`` shows it while it is up (without ``api_id``)."""
    first = call.requests[0].params
    return {
        "call_status": "in-progress" if call.answered else "ringing",
        "call_uuid": call.call_uuid,
        "caller_name": first.get("CallerName", ""),
        "direction": call.direction,
        "from": first["From"],
        "request_uuid": first.get("RequestUUID", call.call_uuid),
        "session_start": first["SessionStart"],
        "to": first["To"],
    }


def conflicting(record: Record) -> Record:
    """The record with another final status than the webhooks': busy (no answer if busy)."""
    code = 3000 if record["call_state"] == "BUSY" else 3010
    outcome = OUTCOMES[code]
    return record | {
        "hangup_cause_code": code,
        "hangup_cause_name": lookup(code).name,
        "hangup_source": outcome.source,
        "call_state": _UNANSWERED_STATES[outcome.status],
        "answer_time": None,
        "call_duration": 0,
        "bill_duration": 0,
        "billed_duration": 0,
        "total_amount": "0.00000",
    }


def _params(call: SimulatedCall, kind: CallbackKind) -> list[Mapping[str, str]]:
    return [request.params for request in call.requests if request.kind is kind]


def _a_leg(call: SimulatedCall, hangup: Mapping[str, str], auth_id: str, zone: tzinfo) -> Record:
    talk = int(hangup["Duration"])
    state = "ANSWER" if call.answered else _UNANSWERED_STATES[call.status]
    return _record(call.call_uuid, auth_id) | {
        "answer_time": _local(hangup["AnswerTime"], zone),
        "bill_duration": talk,
        "billed_duration": int(hangup["BillDuration"]),
        "call_direction": call.direction,
        "call_duration": talk,
        "call_state": state,
        "end_time": _local(hangup["EndTime"], zone),
        "from_number": "+" + hangup["From"].lstrip("+"),
        "hangup_cause_code": int(hangup["HangupCauseCode"]),
        "hangup_cause_name": hangup["HangupCauseName"],
        "hangup_source": hangup["HangupSource"],
        "initiation_time": _local(hangup["StartTime"], zone),
        "stir_verification": hangup.get("STIRAttestation", "Not Applicable"),
        "to_number": hangup["To"].lstrip("+"),
        "total_amount": hangup["TotalCost"],
        "total_rate": f"{float(hangup['BillRate']):.5f}",
    }


def _b_leg(
    call: SimulatedCall,
    uuid: str,
    events: list[Mapping[str, str]],
    dial_start: str | None,
    auth_id: str,
    zone: tzinfo,
) -> Record:
    by_action = {params["DialAction"]: params for params in events}
    end = by_action["hangup"]
    answer = by_action.get("answer")
    code = end["DialBLegHangupCauseCode"]
    talk = int(end["DialBLegDuration"])
    billed = int(end["DialBLegBillDuration"])
    rate = float(end["BillRate"])
    return _record(uuid, auth_id) | {
        "answer_time": _local(answer["SessionStart"], zone) if answer else None,
        "bill_duration": talk,
        "billed_duration": billed,
        "call_direction": "outbound",
        "call_duration": talk,
        "call_state": "ANSWER" if answer else _LEG_STATES.get(code, "FAILED"),
        "end_time": _local(end["SessionStart"], zone),
        "from_number": "+" + end["DialBLegFrom"].lstrip("+"),
        "hangup_cause_code": int(code),
        "hangup_cause_name": end["DialBLegHangupCauseName"],
        "hangup_source": end["DialBLegHangupSource"],
        "initiation_time": dial_start,
        "parent_call_uuid": call.call_uuid,
        "stir_verification": end.get("STIRAttestation", "Not Applicable"),
        "to_number": end["DialBLegTo"].lstrip("+"),
        "total_amount": f"{rate * billed / 60:.5f}",
        "total_rate": f"{rate:.5f}",
    }


def _record(uuid: str, auth_id: str) -> Record:
    return {
        "call_uuid": uuid,
        "conference_uuid": None,
        "parent_call_uuid": None,
        "resource_uri": f"/v1/Account/{auth_id}/Call/{uuid}/",
        "source_ip": SOURCE_IP,
    }


def _local(stamp: str, zone: tzinfo) -> str | None:
    """A webhook time (UTC, to the second or finer) as the Call API writes it in ``zone``."""
    if not stamp:
        return None
    moment = datetime.fromisoformat(stamp).replace(microsecond=0, tzinfo=UTC)
    return moment.astimezone(zone).isoformat(sep=" ")


def end_of(record: Record) -> datetime:
    """The record's ``end_time`` as an aware instant."""
    return datetime.fromisoformat(record["end_time"])
