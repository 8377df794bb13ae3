"""The Plivo parameters the domain reads: each must come once in a webhook.

A value the domain reads decides the call's state, so a webhook that sends one of these
twice is refused at the door rather than stored with its values joined (``CallUUID=a`` and
``CallUUID=b`` would otherwise become a call ``a,b``). A test keeps this set equal to the
names the domain's modules read.
"""

from __future__ import annotations

READ_PARAMS: frozenset[str] = frozenset(
    {
        # callbacks.py: identity, status, answer evidence
        "CallUUID",
        "CallStatus",
        "AnswerTime",
        "Duration",
        # hangup.py: how the call ended, and who was on it
        "HangupCause",
        "HangupCauseCode",
        "HangupCauseName",
        "HangupSource",
        "BillDuration",
        "StartTime",
        "EndTime",
        "Direction",
        "From",
        "To",
        # call.py: the earliest session start
        "SessionStart",
        # legs.py: B legs and Dial outcomes
        "DialAction",
        "DialBLegStatus",
        "DialBLegUUID",
        "DialBLegTo",
        "DialBLegDuration",
        "DialBLegBillDuration",
        "DialBLegHangupCause",
        "DialBLegHangupCauseCode",
        "DialBLegHangupCauseName",
        "DialBLegHangupSource",
        "DialStatus",
        "DialRingStatus",
        "DialHangupCause",
    }
)
