"""A simulation that also plays Plivo's Call API, for reconciling what was withheld.

The fake Call API serves the records of every simulated call, withheld ones included,
from before the first callback is sent. Plivo writes a record once its call has ended,
so unless ``--start`` says otherwise the calls are placed in the past, the last one
ending a minute before the run starts. After the run's report it keeps serving, so
that ``calltrail reconcile`` can be pointed at it (``CALLTRAIL_PLIVO_API_URL``), until
Ctrl-C (or SIGTERM, or ``serve_for`` seconds); then the calls are read back again, from
the end of the log, and the report says what reconciling left open or missing.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TextIO

from domain.callbacks import CallbackKind
from simulator.calls import SimulatedCall
from simulator.plivo_account import Faults
from simulator.plivo_api import PlivoCallApi
from simulator.run import Outcome, Simulation, draw, read_back, run, summary, verification_lines


@dataclass(frozen=True, slots=True)
class CallApiPlan:
    """Where and as whom to serve the Call API, with which faults, for how long."""

    host: str
    port: int
    auth_id: str
    auth_token: str = field(repr=False)
    faults: Faults = field(default_factory=Faults)
    serve_for: float | None = None  # seconds after the report; None: until interrupted


def run_serving(simulation: Simulation, plan: CallApiPlan, out: TextIO) -> Outcome:
    """Run ``simulation`` with the Call API up; report, serve, then verify again."""
    if simulation.start is None:
        simulation = ended_by(simulation, datetime.now(UTC) - timedelta(minutes=1))
    calls = draw(simulation)
    api = PlivoCallApi(calls, plan.auth_id, plan.auth_token, faults=plan.faults)
    try:
        api.start(plan.host, plan.port)
    except OSError as error:
        raise SystemExit(f"calltrail: cannot serve on {plan.host}:{plan.port}: {error}") from None
    with api:
        outcome = run(simulation, calls)
        print(summary(outcome), file=out)
        print(_serving_line(api, plan, calls), file=out, flush=True)
        _wait(plan.serve_for)
    statuses = Counter(served.status for served in api.served)
    answered = ", ".join(f"{status}: {count:,}" for status, count in sorted(statuses.items()))
    print(f"stopped serving after {len(api.served):,} requests ({answered or 'none'})", file=out)
    if simulation.verify:
        outcome.verification = asyncio.run(read_back(simulation, outcome.report))
        print("\n".join(verification_lines(outcome.verification)), file=out)
    return outcome


def _serving_line(api: PlivoCallApi, plan: CallApiPlan, calls: list[SimulatedCall]) -> str:
    records = sum(len(entry.records) for entry in api.account.calls.values())
    until = "Ctrl-C" if plan.serve_for is None else f"{plan.serve_for:g} s"
    return (
        f"serving Plivo's Call API at {api.url} (auth id {plan.auth_id}): {records:,}"
        f" records of {len(calls):,} calls ended from {_span(calls)};"
        f" until {until}, then the calls are verified again"
    )


def ended_by(simulation: Simulation, moment: datetime) -> Simulation:
    """``simulation`` starting early enough for its last call to end by ``moment``."""
    probe = replace(simulation, start=moment)
    last = max(_end(call) for call in draw(probe))
    return replace(simulation, start=moment - (last - moment))


def _end(call: SimulatedCall) -> datetime:
    hangup = next(r.params for r in call.requests if r.kind is CallbackKind.HANGUP)
    return datetime.fromisoformat(hangup["EndTime"]).replace(tzinfo=UTC)


def _span(calls: list[SimulatedCall]) -> str:
    ends = sorted(_end(call) for call in calls)
    return f"{ends[0]:%Y-%m-%d %H:%M:%S} to {ends[-1]:%Y-%m-%d %H:%M:%S} UTC"


def _wait(seconds: float | None) -> None:
    """Block until SIGINT or SIGTERM, or ``seconds`` (None: no limit)."""
    stop = threading.Event()
    handled = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in handled}
    try:
        stop.wait(seconds)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
