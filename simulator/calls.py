"""Realistic Plivo calls drawn from a seed: every callback Plivo would send, and the outcome.

A call's hangup cause is drawn first, from a weighted mix of Plivo's code table; the
cause decides the final status and whether the call was answered, and the callbacks are
then built to fit it: ring, answer, a Dial with one or several B legs (losers of the
race hang up with 9000), the Dial action, and the hangup, with consistent times,
durations and leg UUIDs. Shapes follow the captured payloads of the protocol reference.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from domain.callbacks import CallbackKind
from domain.hangup_causes import lookup
from domain.status import CallStatus


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a hangup cause means for the A leg: final status, answered, who ended it."""

    status: CallStatus
    answered: bool
    cause: str  # the engine-style HangupCause text
    source: str


_DONE = CallStatus.COMPLETED
OUTCOMES: Mapping[int, Outcome] = {
    4000: Outcome(_DONE, True, "NORMAL_CLEARING", "Callee"),
    4010: Outcome(_DONE, True, "NORMAL_CLEARING", "Plivo"),
    6000: Outcome(_DONE, True, "ALLOTTED_TIMEOUT", "Plivo"),
    6020: Outcome(_DONE, True, "MEDIA_TIMEOUT", "Plivo"),
    9100: Outcome(_DONE, True, "NORMAL_CLEARING", "Plivo"),
    3010: Outcome(CallStatus.BUSY, False, "USER_BUSY", "Carrier"),
    3100: Outcome(CallStatus.BUSY, False, "USER_BUSY", "Carrier"),
    3020: Outcome(CallStatus.BUSY, False, "CALL_REJECTED", "Callee"),
    3000: Outcome(CallStatus.NO_ANSWER, False, "NO_ANSWER", "Carrier"),
    6010: Outcome(CallStatus.NO_ANSWER, False, "NO_ANSWER", "Plivo"),
    3070: Outcome(CallStatus.TIMEOUT, False, "RECOVERY_ON_TIMER_EXPIRE", "Carrier"),
    1000: Outcome(CallStatus.CANCEL, False, "ORIGINATOR_CANCEL", "API Request"),
    1010: Outcome(CallStatus.CANCEL, False, "ORIGINATOR_CANCEL", "Plivo"),
    2000: Outcome(CallStatus.FAILED, False, "UNALLOCATED_NUMBER", "Plivo"),
    2010: Outcome(CallStatus.FAILED, False, "NETWORK_OUT_OF_ORDER", "Carrier"),
    2020: Outcome(CallStatus.FAILED, False, "USER_NOT_REGISTERED", "Plivo"),
    3050: Outcome(CallStatus.FAILED, False, "UNALLOCATED_NUMBER", "Carrier"),
    3080: Outcome(CallStatus.FAILED, False, "NORMAL_TEMPORARY_FAILURE", "Carrier"),
    3090: Outcome(CallStatus.FAILED, False, "SWITCH_CONGESTION", "Carrier"),
    5010: Outcome(CallStatus.FAILED, False, "NORMAL_TEMPORARY_FAILURE", "Plivo"),
    5020: Outcome(CallStatus.FAILED, False, "NO_ROUTE_DESTINATION", "Plivo"),
}
"""The hangup causes the simulator can produce, with the outcome each implies."""

DEFAULT_MIX: Mapping[int, float] = {
    4000: 44,
    4010: 10,
    6000: 1,
    9100: 2,
    3010: 9,
    3020: 2,
    3000: 12,
    6010: 3,
    3070: 1,
    1000: 5,
    2000: 3,
    3050: 2,
    3090: 1,
    5010: 1,
}
"""A plausible mix for an outbound-heavy voice app (weights, not percentages)."""


def parse_mix(text: str) -> dict[int, float]:
    """``"4000:60,3010:20"`` as a cause mix; a clear ``ValueError`` for anything else."""
    mix: dict[int, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        code, sep, weight = item.partition(":")
        try:
            number, share = int(code), float(weight)
        except ValueError:
            raise ValueError(f"expected CODE:WEIGHT, got {item!r}") from None
        if not sep or share < 0:
            raise ValueError(f"expected CODE:WEIGHT with a weight >= 0, got {item!r}")
        if number not in OUTCOMES:
            known = ", ".join(str(code) for code in sorted(OUTCOMES))
            raise ValueError(f"cause {number} cannot be simulated; choose from {known}")
        mix[number] = share
    if not mix or sum(mix.values()) <= 0:
        raise ValueError("the cause mix needs at least one positive weight")
    return mix


@dataclass(frozen=True, slots=True)
class Request:
    """One callback as Plivo sends it: to the URL of ``kind``, with these parameters."""

    kind: CallbackKind
    params: Mapping[str, str]


@dataclass(slots=True)
class SimulatedCall:
    """A call's callbacks in the order Plivo fires them, and the state they must lead to."""

    call_uuid: str
    direction: str
    status: CallStatus
    answered: bool
    cause_code: str
    requests: list[Request] = field(default_factory=list)
    ended_at: datetime | None = None  # the hangup's moment, to the microsecond


@dataclass(frozen=True, slots=True)
class Profile:
    """The shape of the traffic: direction share, cause mix, Dial habits."""

    inbound_share: float = 0.3
    mix: Mapping[int, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    dial_share: float = 0.7  # answered calls that run a Dial
    simultaneous_share: float = 0.3  # Dials that ring several B legs at once


class CallFactory:
    """Draws calls from ``seed``: the same seed and start give the same calls, byte for byte.

    The seed alone decides the shape of the traffic (causes, directions, legs, the gaps
    between times); the UUIDs come from the seed and the start together, so two runs
    started at different times never share a call unless they are given the same start.
    """

    def __init__(self, seed: int, profile: Profile | None = None, start: datetime | None = None):
        self.rng = random.Random(seed)
        self.profile = profile or Profile()
        self.codes = list(self.profile.mix)
        self.weights = [self.profile.mix[code] for code in self.codes]
        self.clock = (start or datetime.now(UTC)).astimezone(UTC)
        # A string seed is hashed with SHA-512: the same in every process.
        self.ids = random.Random(f"{seed}@{self.clock.isoformat()}")

    def uuid(self) -> str:
        """A version 4 UUID drawn from the seed and the start."""
        return str(uuid.UUID(int=self.ids.getrandbits(128), version=4))

    def number(self) -> str:
        """An E.164 number without the plus."""
        return "1415" + str(self.rng.randrange(10**6, 10**7))

    def call(self) -> SimulatedCall:
        """The next call; calls start a fraction of a second apart."""
        rng = self.rng
        self.clock += timedelta(milliseconds=rng.randrange(1, 400))
        code = rng.choices(self.codes, self.weights)[0]
        outcome = OUTCOMES[code]
        inbound = rng.random() < self.profile.inbound_share
        call = SimulatedCall(
            self.uuid(),
            "inbound" if inbound else "outbound",
            outcome.status,
            outcome.answered,
            str(code),
        )
        _Builder(self, call, code, outcome).build()
        return call


class _Builder:
    """Builds one call's callbacks; times advance as the call would."""

    def __init__(self, factory: CallFactory, call: SimulatedCall, code: int, outcome: Outcome):
        self.factory = factory
        self.rng = factory.rng
        self.call = call
        self.code = code
        self.outcome = outcome
        self.outbound = call.direction == "outbound"
        ours, theirs = "1800" + str(self.rng.randrange(10**6, 10**7)), factory.number()
        self.from_, self.to = (ours, theirs) if self.outbound else (theirs, ours)
        self.start = factory.clock
        self.now = self.start

    def later(self, low: float, high: float) -> datetime:
        self.now += timedelta(seconds=self.rng.uniform(low, high))
        return self.now

    def common(
        self, status: CallStatus, event: str, plus: bool = False, session: datetime | None = None
    ) -> dict[str, str]:
        """The parameters every callback carries; ``SessionStart`` is ``session`` or now."""
        # Plivo's "+" prefix comes and goes between callbacks of one call (reference 1.2).
        sign = "+" if plus else ""
        params = {
            "CallUUID": self.call.call_uuid,
            "CallStatus": status.value,
            "Direction": self.call.direction,
            "Event": event,
            "From": sign + self.from_,
            "To": self.to,
            "CallerName": "",
            "BillRate": "0.005",
            "ParentAuthID": "MAZJKYZTK2ZDHMYWU3ZD",
            "SessionStart": (session or self.now).strftime("%Y-%m-%d %H:%M:%S.%f"),
            "STIRAttestation": "Not Applicable",
        }
        if self.outbound:
            params["RequestUUID"] = self.call.call_uuid
        return params

    def add(self, kind: CallbackKind, params: dict[str, str]) -> None:
        self.call.requests.append(Request(kind, params))

    def build(self) -> None:
        rng, outcome = self.rng, self.outcome
        answered_at: datetime | None = None
        if self.outbound:
            rings = outcome.status is not CallStatus.FAILED and rng.random() < 0.9
            if rings:
                self.later(0.5, 6)  # post-dial delay
                # The ring reports the session's start: calltrail measures PDD from it.
                ring = self.common(CallStatus.RINGING, "Ring", plus=True, session=self.start)
                self.add(CallbackKind.RING, ring)
            if outcome.answered:
                answered_at = self.later(2, 25)
                answer = self.common(CallStatus.IN_PROGRESS, "StartApp")
                answer |= {"ALegUUID": self.call.call_uuid, "ALegRequestUUID": self.call.call_uuid}
                self.add(CallbackKind.ANSWER, answer)
        else:
            self.later(0.2, 1)
            self.add(CallbackKind.ANSWER, self.common(CallStatus.RINGING, "StartApp"))
            if outcome.answered:
                answered_at = self.later(0.5, 15)
        if answered_at is not None and rng.random() < self.factory.profile.dial_share:
            # End of XML after a Dial may follow an unanswered Dial; other ends need a winner.
            self.dial(won=self.code != 4010 or rng.random() < 0.6)
        if answered_at is None:
            self.later(1, 40)
        else:
            self.later(1, 300)
        self.hangup(answered_at)

    def dial(self, won: bool) -> None:
        rng = self.rng
        legs = rng.choice((2, 3)) if rng.random() < self.factory.profile.simultaneous_share else 1
        uuids = [self.factory.uuid() for _ in range(legs)]
        winner = uuids[0] if won else ""
        self.later(0.5, 8)
        for leg in uuids:
            if leg == winner:
                continue
            cause = (
                ("9000", "LOSE_RACE", "Lost Race") if won else ("3000", "NO_ANSWER", "No Answer")
            )
            self.leg_event(leg, "hangup", cause, duration=0)
        if winner:
            self.leg_event(winner, "answer")
            self.leg_event(winner, "connected")
            talk = round(rng.uniform(3, 600))
            self.later(talk, talk)
            normal = ("4000", "NORMAL_CLEARING", "Normal Hangup")
            self.leg_event(winner, "hangup", normal, duration=talk)
        action = self.common(CallStatus.IN_PROGRESS, "Redirect") | {
            "DialStatus": "completed" if winner else "no-answer",
            "DialRingStatus": "true",
            "DialHangupCause": "NORMAL_CLEARING" if winner else "NO_ANSWER",
            "DialALegUUID": self.call.call_uuid,
            "DialBLegUUID": winner,
        }
        self.add(CallbackKind.DIAL_ACTION, action)

    def leg_event(
        self, leg: str, action: str, cause: tuple[str, str, str] | None = None, duration: int = 0
    ) -> None:
        params = self.common(CallStatus.IN_PROGRESS, "Dial" + action.capitalize()) | {
            "DialAction": action,
            "DialALegUUID": self.call.call_uuid,
            "DialBLegUUID": leg,
            "DialBLegFrom": self.from_,
            "DialBLegTo": self.factory.number(),
        }
        if cause is not None:
            params |= {
                "DialBLegHangupCauseCode": cause[0],
                "DialBLegHangupCause": cause[1],
                "DialBLegHangupCauseName": cause[2],
                "DialBLegHangupSource": "Callee" if cause[0] == "4000" else "Plivo",
                "DialBLegDuration": str(duration),
                "DialBLegBillDuration": str(-(-duration // 60) * 60),
            }
        self.add(CallbackKind.DIAL_CALLBACK, params)

    def hangup(self, answered_at: datetime | None) -> None:
        end = self.now
        talk = max(1, round((end - answered_at).total_seconds())) if answered_at else 0
        outcome = self.outcome
        params = self.common(outcome.status, "Hangup", plus=not outcome.answered) | {
            "StartTime": _stamp(self.start),
            "AnswerTime": _stamp(answered_at) if answered_at else "",
            "EndTime": _stamp(end),
            "Duration": str(talk),
            "BillDuration": str(-(-talk // 60) * 60),
            "TotalCost": f"{0.005 * -(-talk // 60):.5f}",
            "HangupCauseCode": self.call.cause_code,
            "HangupCauseName": lookup(self.code).name,
            "HangupCause": outcome.cause,
            "HangupSource": outcome.source,
        }
        if self.outbound and answered_at is not None:
            params |= {"ALegUUID": self.call.call_uuid, "ALegRequestUUID": self.call.call_uuid}
        self.add(CallbackKind.HANGUP, params)
        self.call.ended_at = end


def _stamp(at: datetime) -> str:
    """Plivo's ``YYYY-MM-DD HH:MM:SS`` (the account time zone; the simulator uses UTC)."""
    return at.strftime("%Y-%m-%d %H:%M:%S")
