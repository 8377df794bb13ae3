"""The mix of realistic calls the benchmarks replay (shapes from tests/factories.py)."""

from __future__ import annotations

from collections.abc import Callable

from domain.status import CallStatus
from tests.factories import CallSpec, inbound, outbound

SHAPES: list[Callable[[], CallSpec]] = [
    lambda: outbound(CallStatus.COMPLETED, losers=1),
    lambda: outbound(CallStatus.BUSY),
    lambda: inbound(answered=True),
    lambda: outbound(CallStatus.NO_ANSWER),
    lambda: outbound(CallStatus.COMPLETED, dial_answered=False),
    lambda: inbound(answered=False),
]
