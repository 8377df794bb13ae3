"""B legs and Dial outcomes reported by the Dial element's ``callbackUrl`` and ``action``.

Each fold here is commutative for the callbacks of one real call (statuses by rank,
answered-ness by "or", a leg's hangup details from its one hangup event), so the legs of a
call do not depend on the order Plivo's callbacks arrive in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from domain.callbacks import to_int

# A leg's progress as DialAction / DialBLegStatus report it; digits imply a bridged leg.
LEG_RANK: Mapping[str, int] = {"answer": 1, "connected": 2, "digits": 2, "hangup": 3}


class Leg(NamedTuple):
    """One B leg of a Dial, keyed by ``DialBLegUUID``.

    The call's values are named tuples: as immutable as frozen dataclasses, and much
    cheaper to build (a frozen dataclass sets each field through ``object.__setattr__``),
    which matters because a replay builds them for every callback. They are built
    positionally for the same reason; ``tests/domain/test_positional.py`` checks that
    every positional construction puts each value in its field.
    """

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


class DialOutcome(NamedTuple):
    """What one Dial's ``action`` request reported when the Dial ended."""

    status: str
    ring_status: str
    hangup_cause: str
    b_leg_uuid: str


_NO_LEG = Leg(uuid="")  # a new leg's fields but its uuid


def merge_callback(leg: Leg | None, uuid: str, params: Mapping[str, str]) -> Leg:
    """Fold one Dial ``callbackUrl`` request into its leg.

    Built field by field (no ``_replace``): every replay runs this per callback.
    """
    current = leg or _NO_LEG  # a new leg: the defaults, and ``uuid``
    uuid = current.uuid if leg else uuid
    get = params.get
    action = (get("DialAction") or get("DialBLegStatus") or "").strip().lower()
    rank = LEG_RANK.get(action, 0)
    status = action if rank > LEG_RANK.get(current.status, 0) else current.status
    if status == "digits":
        status = "connected"
    answered = current.answered or rank in (1, 2) or (to_int(get("DialBLegDuration")) or 0) > 0
    to = current.to or get("DialBLegTo", "").strip()
    if action == "hangup" and not (current.hangup_cause or current.hangup_cause_code):
        return _hung_up(current, uuid, status, answered, to, params)
    if leg and status == leg.status and answered == leg.answered and to == leg.to:
        return leg  # equal in every field: frozen, so the same one serves
    return Leg(
        uuid,
        status,
        answered,
        to,
        current.hangup_cause,
        current.hangup_cause_code,
        current.hangup_cause_name,
        current.hangup_source,
        current.duration,
        current.bill_duration,
        current.dial_status,
    )


def _hung_up(
    current: Leg, uuid: str, status: str, answered: bool, to: str, params: Mapping[str, str]
) -> Leg:
    """The leg with its (first) hangup's details."""
    get = params.get
    return Leg(
        uuid,
        status,
        answered,
        to,
        get("DialBLegHangupCause", "").strip(),
        get("DialBLegHangupCauseCode", "").strip(),
        get("DialBLegHangupCauseName", "").strip(),
        get("DialBLegHangupSource", "").strip(),
        to_int(get("DialBLegDuration")),
        to_int(get("DialBLegBillDuration")),
        current.dial_status,
    )


def dial_outcome(params: Mapping[str, str]) -> DialOutcome:
    """The outcome one Dial ``action`` request reports."""
    get = params.get
    # Positional (status, ring status, hangup cause, B leg): see ``Leg``.
    return DialOutcome(
        get("DialStatus", "").strip(),
        get("DialRingStatus", "").strip(),
        get("DialHangupCause", "").strip(),
        get("DialBLegUUID", "").strip(),
    )


def merge_action(leg: Leg | None, outcome: DialOutcome) -> Leg:
    """Fold a Dial ``action`` into the leg it names: Plivo names a B leg only if it answered."""
    current = leg or _NO_LEG
    dial_status = current.dial_status or outcome.status
    if leg and leg.answered and dial_status == leg.dial_status:
        return leg  # equal in every field
    return Leg(
        current.uuid if leg else outcome.b_leg_uuid,
        current.status,
        True,
        current.to,
        current.hangup_cause,
        current.hangup_cause_code,
        current.hangup_cause_name,
        current.hangup_source,
        current.duration,
        current.bill_duration,
        dial_status,
    )
