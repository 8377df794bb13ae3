"""The call mixes the benchmarks use: fixed shapes (from tests/factories.py), and seeded
simulator traffic with calls overlapping in time, as a real event log holds them."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime

from domain.callbacks import Callback
from domain.status import CallStatus
from simulator.calls import CallFactory, SimulatedCall
from tests.factories import CallSpec, inbound, outbound

SHAPES: list[Callable[[], CallSpec]] = [
    lambda: outbound(CallStatus.COMPLETED, losers=1),
    lambda: outbound(CallStatus.BUSY),
    lambda: inbound(answered=True),
    lambda: outbound(CallStatus.NO_ANSWER),
    lambda: outbound(CallStatus.COMPLETED, dial_answered=False),
    lambda: inbound(answered=False),
]

TRAFFIC_START = datetime(2026, 3, 1, 8, tzinfo=UTC)


def traffic(events: int, seed: int = 1) -> Iterator[Callback]:
    """Callbacks of simulated calls (``simulator.calls``) in the order they arrive, calls
    overlapping as they do on a busy account, until they make ``events`` stored events
    (one per callback, plus one per call)."""
    factory = CallFactory(seed, start=TRAFFIC_START)
    pending: list[tuple[datetime, int, Callback]] = []  # by arrival: (time, tie-break, …)
    made = order = 0
    upcoming = factory.call()
    while made < events or pending:
        # Admit calls that begin before the earliest callback still to arrive.
        while made < events and (not pending or _begins(upcoming) <= pending[0][0]):
            for request in upcoming.requests:
                at = _arrival(request.params)
                callback = Callback.of(request.kind, request.params, at)
                heapq.heappush(pending, (at, order, callback))
                order += 1
            made += len(upcoming.requests) + 1
            upcoming = factory.call()
        yield heapq.heappop(pending)[2]


def _arrival(params: Mapping[str, str]) -> datetime:
    """When the simulator fired a callback: its ``SessionStart``, a UTC time."""
    return datetime.fromisoformat(params["SessionStart"]).replace(tzinfo=UTC)


def _begins(call: SimulatedCall) -> datetime:
    return _arrival(call.requests[0].params)
