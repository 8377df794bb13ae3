"""What Plivo's Call API says of a call: one call detail record, read as a hangup is read.

Reconciling completes a call whose webhooks never arrived from Plivo's own record of it.
The record is kept verbatim (``ApiRecord.record``); what the state machine judges is the
same record in the webhooks' terms (``ApiRecord.params``: ``CallStatus``,
``HangupCauseCode``, ``Duration``, ``AnswerTime``, ...), so a reconciled call folds and
counts exactly like one whose hangup arrived. A B leg's record (``parent_call_uuid``) is
read as the Dial callback that reports the leg's hangup, and belongs to its A leg's call.

The Call API has no ``CallStatus``: an answer time means ``completed``, otherwise the
record's ``call_state`` names the outcome (``BUSY``, ``NO_ANSWER``, ...). A record whose
outcome cannot be read has no status: it is kept (verdict ``unrecognised``) and the call
stays open.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.status import CallStatus, Verdict, classify

API_KIND = "call_api"
"""The ``kind`` a reconciled event is stored with: read from the API, not a webhook URL."""

API_AUTHORITY = 7
"""Plivo's record outranks every callback but the hangup request on the call's direction
and numbers (``domain.hangup.AUTHORITY``)."""

# ``call_state`` values, spelled as the Call API spells them (upper case, underscores).
_STATES: Mapping[str, CallStatus] = {
    "ANSWER": CallStatus.COMPLETED,
    "ANSWERED": CallStatus.COMPLETED,
    "COMPLETED": CallStatus.COMPLETED,
    "BUSY": CallStatus.BUSY,
    "NO_ANSWER": CallStatus.NO_ANSWER,
    "NOANSWER": CallStatus.NO_ANSWER,
    "CANCEL": CallStatus.CANCEL,
    "CANCELED": CallStatus.CANCEL,
    "CANCELLED": CallStatus.CANCEL,
    "FAILED": CallStatus.FAILED,
    "TIMEOUT": CallStatus.TIMEOUT,
}
_OFFSET = re.compile(r"(?:Z|[+-][0-9]{2}:?[0-9]{2})$")

# Webhook name ← record field, for an A leg's record and a B leg's.
_A_LEG = (
    ("Direction", "call_direction"),
    ("From", "from_number"),
    ("To", "to_number"),
    ("HangupCauseCode", "hangup_cause_code"),
    ("HangupCauseName", "hangup_cause_name"),
    ("HangupSource", "hangup_source"),
    ("Duration", "call_duration"),
    ("BillDuration", "billed_duration"),
)
_B_LEG = (
    ("DialBLegFrom", "from_number"),
    ("DialBLegTo", "to_number"),
    ("DialBLegHangupCauseCode", "hangup_cause_code"),
    ("DialBLegHangupCauseName", "hangup_cause_name"),
    ("DialBLegHangupSource", "hangup_source"),
    ("DialBLegDuration", "call_duration"),
    ("DialBLegBillDuration", "billed_duration"),
)
_TIMES = (("StartTime", "initiation_time"), ("AnswerTime", "answer_time"), ("EndTime", "end_time"))


def text(value: Any) -> str:
    """A record value as webhook text: ``None`` is blank, numbers as written."""
    return "" if value is None else str(value).strip()


def local_time(value: Any) -> str:
    """A record time as webhooks write it: the account's local time without its offset.

    The Call API writes times in the account's zone with the offset
    (``2026-11-02 13:30:00+05:30``); webhooks write the same local time bare.
    """
    return _OFFSET.sub("", text(value))


def record_status(record: Mapping[str, Any]) -> CallStatus | None:
    """The call status a record implies, or ``None`` when its outcome cannot be read."""
    if text(record.get("answer_time")):
        return CallStatus.COMPLETED
    state = text(record.get("call_state")).upper().replace("-", "_").replace(" ", "_")
    return _STATES.get(state)


def record_params(record: Mapping[str, Any]) -> dict[str, str]:
    """The record in the webhooks' terms: a hangup request, or a B leg's Dial hangup."""
    own = text(record.get("call_uuid"))
    parent = text(record.get("parent_call_uuid"))
    if parent:
        params = {"CallUUID": parent, "DialBLegUUID": own, "DialAction": "hangup"}
        params |= {name: text(record.get(field)) for name, field in _B_LEG}
        if not params["DialBLegBillDuration"]:
            params["DialBLegBillDuration"] = text(record.get("bill_duration"))
        return params
    status = record_status(record)
    params = {"CallUUID": own, "CallStatus": status.value if status else ""}
    params |= {name: text(record.get(field)) for name, field in _A_LEG}
    if not params["BillDuration"]:
        params["BillDuration"] = text(record.get("bill_duration"))
    params |= {name: local_time(record.get(field)) for name, field in _TIMES}
    return params


def record_fingerprint(record: Mapping[str, Any]) -> str:
    """A digest equal for every reading of the same record (``calls.get`` or ``calls.list``),
    different from any webhook's (the kind is part of it)."""
    canonical = json.dumps(
        [API_KIND, record], sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class ApiRecord:
    """One call detail record read from the Call API, and when and how it was read.

    ``source`` says which request returned it (``calls.get``, ``calls.list``).
    """

    record: Mapping[str, Any]
    source: str
    received_at: datetime
    params: Mapping[str, str]
    fingerprint: str

    @classmethod
    def of(cls, record: Mapping[str, Any], source: str, received_at: datetime) -> ApiRecord:
        """Read ``record``: its webhook-terms params and its fingerprint."""
        kept = dict(record)
        return cls(kept, source, received_at, record_params(kept), record_fingerprint(kept))

    @property
    def call_uuid(self) -> str:
        """The call it belongs to: its own, or for a B leg its A leg's."""
        return self.params.get("CallUUID", "")

    @property
    def leg_uuid(self) -> str:
        """A B leg's own ``call_uuid``; blank for an A leg's record."""
        return self.params.get("DialBLegUUID", "")

    @property
    def status(self) -> CallStatus | None:
        """The status an A leg's record reports (a B leg's reports none of the call's)."""
        return None if self.leg_uuid else record_status(self.record)


def judge(observed: ApiRecord, status: CallStatus | None, known_code: str) -> Verdict:
    """The verdict on a record, given the call's status and the cause code already known
    (the call's, or for a B leg's record the leg's; blank if none).

    Like a hangup request's (``classify``), and also ``conflict`` when the status agrees
    but the cause code does not. A B leg's record reports no status of the call: it is
    ``repeated`` (new facts on a leg), or a ``conflict`` with the leg's known cause.
    """
    if observed.leg_uuid:
        verdict, code = Verdict.REPEATED, observed.params.get("DialBLegHangupCauseCode", "")
    else:
        verdict, code = (
            classify(status, observed.status),
            observed.params.get("HangupCauseCode", ""),
        )
    if verdict is Verdict.REPEATED and known_code and known_code != code:
        return Verdict.CONFLICT
    return verdict
