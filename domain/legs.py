"""B legs and Dial outcomes reported by the Dial element's ``callbackUrl`` and ``action``.

Each fold here is commutative for the callbacks of one real call (statuses by rank,
answered-ness by "or", a leg's hangup details from its one hangup event), so the legs of a
call do not depend on the order Plivo's callbacks arrive in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from domain.callbacks import to_int

# A leg's progress as DialAction / DialBLegStatus report it; digits imply a bridged leg.
LEG_RANK: Mapping[str, int] = {"answer": 1, "connected": 2, "digits": 2, "hangup": 3}


@dataclass(frozen=True, slots=True)
class Leg:
    """One B leg of a Dial, keyed by ``DialBLegUUID``."""

    uuid: str
    status: str = ""
    answered: bool = False
    to: str = ""
    hangup_cause: str = ""
    hangup_cause_code: str = ""
    hangup_cause_name: str = ""
    hangup_source: str = ""
    duration: int | None = None
    bill_duration: int | None = None
    dial_status: str = ""


@dataclass(frozen=True, slots=True)
class DialOutcome:
    """What one Dial's ``action`` request reported when the Dial ended."""

    status: str
    ring_status: str
    hangup_cause: str
    b_leg_uuid: str


def _leg_action(params: Mapping[str, str]) -> str:
    action = params.get("DialAction") or params.get("DialBLegStatus") or ""
    return action.strip().lower()


def merge_callback(leg: Leg | None, uuid: str, params: Mapping[str, str]) -> Leg:
    """Fold one Dial ``callbackUrl`` request into its leg."""
    current = leg or Leg(uuid=uuid)
    action = _leg_action(params)
    rank = LEG_RANK.get(action, 0)
    status = action if rank > LEG_RANK.get(current.status, 0) else current.status
    if status == "digits":
        status = "connected"
    answered = (
        current.answered or rank in (1, 2) or (to_int(params.get("DialBLegDuration")) or 0) > 0
    )
    merged = replace(
        current,
        status=status,
        answered=answered,
        to=current.to or params.get("DialBLegTo", "").strip(),
    )
    if action != "hangup" or current.hangup_cause or current.hangup_cause_code:
        return merged
    return replace(
        merged,
        hangup_cause=params.get("DialBLegHangupCause", "").strip(),
        hangup_cause_code=params.get("DialBLegHangupCauseCode", "").strip(),
        hangup_cause_name=params.get("DialBLegHangupCauseName", "").strip(),
        hangup_source=params.get("DialBLegHangupSource", "").strip(),
        duration=to_int(params.get("DialBLegDuration")),
        bill_duration=to_int(params.get("DialBLegBillDuration")),
    )


def dial_outcome(params: Mapping[str, str]) -> DialOutcome:
    """The outcome one Dial ``action`` request reports."""
    return DialOutcome(
        status=params.get("DialStatus", "").strip(),
        ring_status=params.get("DialRingStatus", "").strip(),
        hangup_cause=params.get("DialHangupCause", "").strip(),
        b_leg_uuid=params.get("DialBLegUUID", "").strip(),
    )


def merge_action(leg: Leg | None, outcome: DialOutcome) -> Leg:
    """Fold a Dial ``action`` into the leg it names: Plivo names a B leg only if it answered."""
    current = leg or Leg(uuid=outcome.b_leg_uuid)
    return replace(current, answered=True, dial_status=current.dial_status or outcome.status)
