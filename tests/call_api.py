"""A fake Plivo Call API serving simulated calls, and a real SDK client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from service.plivo_calls import CallApi, CallApiOptions, Pacing
from simulator.calls import CallFactory, SimulatedCall
from simulator.plivo_api import PlivoCallApi

AUTH_ID = "MATESTACCOUNT0000001"
AUTH_TOKEN = "call-api-test-token-5f1d"
START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)  # every simulated call has ended by then


def simulated(count: int, seed: int = 11) -> list[SimulatedCall]:
    """``count`` calls from ``seed``, the first starting at ``START``."""
    factory = CallFactory(seed, start=START)
    return [factory.call() for _ in range(count)]


@contextmanager
def serving(calls: list[SimulatedCall], **options: Any) -> Iterator[PlivoCallApi]:
    """The fake Call API for ``calls`` on a free port, its clock at ``NOW``."""
    api = PlivoCallApi(calls, AUTH_ID, AUTH_TOKEN, clock=lambda: NOW, **options)
    with api.start():
        yield api


def client(api: PlivoCallApi, token: str = AUTH_TOKEN, **pacing: Any) -> CallApi:
    """The plivo SDK's client on calltrail's transport, unpaced unless told, quick retries."""
    settings = {"rate": 0.0, "backoff": 0.01, "max_backoff": 0.05} | pacing
    return CallApi(CallApiOptions(AUTH_ID, token, api.url, timeout=5.0, pacing=Pacing(**settings)))
