"""Real Plivo payloads quoted in the protocol reference (shared/reference/plivo-callbacks.md)."""

from __future__ import annotations

from urllib.parse import parse_qsl

# §1.5: an answered outbound call's hangup_url body (2024 capture).
ANSWERED_OUTBOUND_HANGUP = dict(
    parse_qsl(
        "ALegRequestUUID=64d3290a-87a6-46b4-a6e2-20f5f4e07a02&ALegUUID=64d3290a-87a6-46b4-a6e2-20f5f4e07a02"
        "&AnswerTime=2024-09-26 14:05:18&BillDuration=120&BillRate=0.005&CallStatus=completed"
        "&CallUUID=64d3290a-87a6-46b4-a6e2-20f5f4e07a02&Direction=outbound&Duration=66"
        "&EndTime=2024-09-26 14:06:23&Event=Hangup&From=917658035735900"
        "&HangupCause=NORMAL_CLEARING&HangupCauseCode=4000&HangupCauseName=Normal Hangup"
        "&HangupSource=Callee&ParentAuthID=MAZJKYZTK2ZDHMYWU3ZD"
        "&RequestUUID=64d3290a-87a6-46b4-a6e2-20f5f4e07a02&STIRAttestation=Not Applicable"
        "&STIRVerification=Not Applicable&SessionStart=2024-09-26 08:35:10.910772"
        "&StartTime=2024-09-26 14:05:08&To=91773345553974342&TotalCost=0.01000",
        keep_blank_values=True,
    )
)

# §1.3: the outbound answer_url request of the same kind of call.
OUTBOUND_ANSWER = {
    "ALegRequestUUID": "64d3290a-87a6-46b4-a6e2-20f5f4e07a02",
    "ALegUUID": "64d3290a-87a6-46b4-a6e2-20f5f4e07a02",
    "BillRate": "0.005",
    "CallStatus": "in-progress",
    "CallUUID": "64d3290a-87a6-46b4-a6e2-20f5f4e07a02",
    "CountryCode": "IN",
    "Direction": "outbound",
    "Event": "StartApp",
    "From": "918035735900",
    "ParentAuthID": "MAZJKYZTK2ZDHMYWU3ZD",
    "RequestUUID": "64d3290a-87a6-46b4-a6e2-20f5f4e07a02",
    "RouteType": "Domestic_Anchored",
    "STIRAttestation": "Not Applicable",
    "STIRVerification": "Not Applicable",
    "SessionStart": "2024-09-26 08:35:10.910772",
    "To": "91773345553974342",
}

# §1.5: an unanswered (busy) outbound hangup: AnswerTime blank, no ALegUUID.
BUSY_OUTBOUND_HANGUP = {
    "AnswerTime": "",
    "BillDuration": "0",
    "BillRate": "0.005",
    "CallStatus": "busy",
    "CallUUID": "0b9cbb5e-2f1a-4c52-9f0d-3f2ad5a7c001",
    "Direction": "outbound",
    "Duration": "0",
    "EndTime": "2024-10-25 19:44:02",
    "Event": "Hangup",
    "From": "+918035735900",
    "HangupCause": "USER_BUSY",
    "HangupCauseCode": "3010",
    "HangupCauseName": "Busy Line",
    "HangupSource": "Carrier",
    "RequestUUID": "0b9cbb5e-2f1a-4c52-9f0d-3f2ad5a7c001",
    "StartTime": "2024-10-25 19:43:51",
    "To": "14155550123",
    "TotalCost": "0.00000",
}

# §1.3 (LEG16): an inbound answer_url request arrives ringing, before the call is answered.
INBOUND_ANSWER = {
    "Direction": "inbound",
    "From": "Anonymous",
    "CallerName": "Anonymous",
    "BillRate": "0.0085",
    "To": "14154830338",
    "CallUUID": "8a3c1f0e-4f0b-11e6-9e1c-1b7c0b3b8a11",
    "CallStatus": "ringing",
    "Event": "StartApp",
}
INBOUND_BUSY_HANGUP = INBOUND_ANSWER | {
    "CallStatus": "busy",
    "HangupCause": "USER_BUSY",
    "AnswerTime": "",
    "Duration": "0",
    "Event": "Hangup",
}
