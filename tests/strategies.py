"""Hypothesis strategies: realistic calls, and deliveries of them in any order with retries."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import strategies as st

from domain.callbacks import Callback, CallbackKind
from domain.status import TERMINAL, CallStatus
from tests.factories import T0, CallSpec, inbound, other_outcome, outbound, stray


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
def strays(draw: st.DrawFn, spec: CallSpec) -> Callback:
    """A callback at odds with the call's outcome that does not report another outcome: an
    ``in-progress`` (answer URL or Dial callback) or a ``ringing``, with or without an
    ``AnswerTime``."""
    kind = draw(st.sampled_from([CallbackKind.ANSWER, CallbackKind.DIAL_CALLBACK]))
    status = draw(st.sampled_from([CallStatus.IN_PROGRESS, CallStatus.RINGING]))
    if status is CallStatus.RINGING and draw(st.booleans()):
        kind = CallbackKind.RING
    return stray(spec, kind, status, answer_time=draw(st.booleans()))


@st.composite
def outcomes(draw: st.DrawFn, spec: CallSpec) -> Callback:
    """A hangup reporting any terminal status, the call's own or another (a conflict),
    answered or not (an unanswered status with an ``AnswerTime`` is hostile too)."""
    status = draw(st.sampled_from(sorted(TERMINAL)))
    return other_outcome(spec, status, talk=draw(st.sampled_from([0, 30])))


def hostile(spec: CallSpec, *, other_outcomes: bool = True) -> st.SearchStrategy[list[Callback]]:
    """Extra callbacks no real call sends beside ``spec``'s: strays, and other outcomes."""
    extra = st.one_of(strays(spec), outcomes(spec)) if other_outcomes else strays(spec)
    return st.lists(extra, min_size=1, max_size=3)


@st.composite
def deliveries(
    draw: st.DrawFn, spec: CallSpec, extra: list[Callback] | None = None
) -> list[Callback]:
    """The call's callbacks (and ``extra``) in any order, some delivered again, stamped in
    arrival order."""
    sent = spec.callbacks + (extra or [])
    order = list(draw(st.permutations(sent)))
    retries = draw(st.lists(st.sampled_from(sent), max_size=4))
    for retry in retries:
        order.insert(draw(st.integers(min_value=0, max_value=len(order))), retry)
    return [
        Callback.of(c.kind, c.params, T0 + timedelta(milliseconds=250 * i))
        for i, c in enumerate(order)
    ]


statuses = st.one_of(st.none(), st.sampled_from(list(CallStatus)))
