"""Hypothesis strategies: realistic calls, and deliveries of them in any order with retries."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import strategies as st

from domain.callbacks import Callback
from domain.status import TERMINAL, CallStatus
from tests.factories import T0, CallSpec, inbound, outbound


@st.composite
def calls(draw: st.DrawFn) -> CallSpec:
    """One realistic call: outbound with any outcome, or inbound answered or rejected."""
    talk = draw(st.integers(min_value=1, max_value=7200))
    losers = draw(st.integers(min_value=0, max_value=2))
    if draw(st.booleans()):
        return inbound(answered=draw(st.booleans()), talk=talk, losers=losers)
    outcome = draw(st.sampled_from(sorted(TERMINAL)))
    return outbound(
        outcome,
        talk=talk,
        ring=draw(st.booleans()),
        losers=losers,
        dial_answered=draw(st.booleans()),
    )


@st.composite
def deliveries(draw: st.DrawFn, spec: CallSpec) -> list[Callback]:
    """The call's callbacks in any order, some delivered again, stamped in arrival order."""
    order = list(draw(st.permutations(spec.callbacks)))
    retries = draw(st.lists(st.sampled_from(spec.callbacks), max_size=4))
    for retry in retries:
        order.insert(draw(st.integers(min_value=0, max_value=len(order))), retry)
    return [
        Callback.of(c.kind, c.params, T0 + timedelta(milliseconds=250 * i))
        for i, c in enumerate(order)
    ]


statuses = st.one_of(st.none(), st.sampled_from(list(CallStatus)))
