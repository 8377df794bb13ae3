"""Call API records of generated calls, in the Call API's JSON shape (the fields
reconciling reads: see ``simulator/plivo_records.py`` for the whole record)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from domain.callbacks import CallbackKind
from domain.reconciled import ApiRecord
from tests.factories import T0, CallSpec

STATES = {"busy": "BUSY", "no-answer": "NO_ANSWER", "failed": "FAILED", "cancel": "CANCEL"}
STATES |= {"timeout": "TIMEOUT", "completed": "COMPLETED"}  # completed, unanswered


def _int(text: str) -> int:
    return int(text) if text.isdigit() else 0


def _time(text: str) -> str | None:
    return f"{text}+00:00" if text else None


def record_of(spec: CallSpec, **changes: Any) -> dict[str, Any]:
    """The A leg's record, agreeing with the spec's hangup request (``changes`` applied)."""
    hangup = next(c.params for c in spec.callbacks if c.kind is CallbackKind.HANGUP)
    answered = bool(hangup["AnswerTime"])
    record = {
        "call_uuid": spec.call_uuid,
        "parent_call_uuid": None,
        "call_direction": hangup["Direction"],
        "call_state": "ANSWER" if answered else STATES[hangup["CallStatus"]],
        "from_number": "+" + hangup["From"],
        "to_number": hangup["To"],
        "hangup_cause_code": int(hangup["HangupCauseCode"]),
        "hangup_cause_name": hangup["HangupCauseName"],
        "hangup_source": hangup["HangupSource"],
        "call_duration": _int(hangup["Duration"]),
        "bill_duration": _int(hangup["Duration"]),
        "billed_duration": _int(hangup["BillDuration"]),
        "initiation_time": _time(hangup["StartTime"]),
        "answer_time": _time(hangup["AnswerTime"]),
        "end_time": _time(hangup["EndTime"]),
        "total_amount": hangup["TotalCost"],
    }
    return record | changes


def leg_records(spec: CallSpec) -> list[dict[str, Any]]:
    """A record per B leg that the spec's Dial callbacks hung up."""
    found = []
    for callback in spec.callbacks:
        params: Mapping[str, str] = callback.params
        if callback.kind is CallbackKind.DIAL_CALLBACK and params["DialAction"] == "hangup":
            found.append(
                {
                    "call_uuid": params["DialBLegUUID"],
                    "parent_call_uuid": spec.call_uuid,
                    "call_direction": "outbound",
                    "to_number": params["DialBLegTo"],
                    "hangup_cause_code": int(params["DialBLegHangupCauseCode"]),
                    "hangup_cause_name": params["DialBLegHangupCauseName"],
                    "hangup_source": params["DialBLegHangupSource"],
                    "call_duration": _int(params["DialBLegDuration"]),
                    "billed_duration": _int(params["DialBLegBillDuration"]),
                }
            )
    return found


def read(record: dict[str, Any], at: datetime = T0, source: str = "calls.get") -> ApiRecord:
    """The record as reconciling reads it."""
    return ApiRecord.of(record, source, at)
