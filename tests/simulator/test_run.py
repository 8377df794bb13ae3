"""A simulated run's times, its calls' identity from run to run, and its report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.callbacks import CallbackKind
from simulator.calls import CallFactory, SimulatedCall
from simulator.delivery import CallDelivery, DeliveryOptions, DeliveryReport, Target
from simulator.run import Outcome, Simulation, draw, placed, summary
from simulator.verify import Mismatch, Verification

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
NOWHERE = DeliveryOptions([Target("http://127.0.0.1:9", "http://127.0.0.1:9")], "token")


def session_start(params: Mapping[str, str]) -> datetime:
    return datetime.fromisoformat(params["SessionStart"]).replace(tzinfo=UTC)


def plivo_time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def moments(call: SimulatedCall) -> list[datetime]:
    """Every time the call's callbacks report."""
    found = [session_start(request.params) for request in call.requests]
    hangup = next(r.params for r in call.requests if r.kind is CallbackKind.HANGUP)
    names = ("StartTime", "AnswerTime", "EndTime")
    found += [plivo_time(hangup[name]) for name in names if hangup[name]]
    return found


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_each_call_happens_in_order_and_the_ring_reports_its_start(seed: int) -> None:
    call = CallFactory(seed, start=START).call()
    hangup = call.requests[-1].params
    start, end = plivo_time(hangup["StartTime"]), plivo_time(hangup["EndTime"])
    sessions = [session_start(request.params) for request in call.requests]
    assert sessions == sorted(sessions)  # in the order Plivo fires them
    assert start <= sessions[0]
    assert sessions[-1].replace(microsecond=0) == end
    for request, session in zip(call.requests, sessions, strict=True):
        if request.kind is CallbackKind.RING:
            assert session.replace(microsecond=0) == start  # the post-dial delay's origin
    if hangup["AnswerTime"]:
        assert start <= plivo_time(hangup["AnswerTime"]) <= end
    assert call.ended_at is not None
    assert call.ended_at.replace(microsecond=0) == end


def test_a_run_without_a_start_reports_only_what_has_already_happened() -> None:
    simulation = Simulation(NOWHERE, calls=300, seed=11)
    calls = draw(placed(simulation))
    now = datetime.now(UTC)
    latest = max(moment for call in calls for moment in moments(call))
    assert latest <= now
    assert (now - latest).total_seconds() < 60  # yet the last call has only just ended


def test_runs_at_other_starts_share_no_call_and_the_same_start_replays_the_run() -> None:
    simulation = Simulation(NOWHERE, calls=200, seed=7)
    first, second = placed(simulation), placed(simulation)
    assert first.start != second.start
    uuids = [{call.call_uuid for call in draw(run)} for run in (first, second)]
    assert len(uuids[0]) == len(uuids[1]) == 200
    assert not uuids[0] & uuids[1]
    assert draw(first) == draw(replace(simulation, start=first.start))
    assert placed(first) == first


def test_the_report_counts_every_mismatch_and_lists_the_first_twenty() -> None:
    calls = [CallFactory(seed, start=START).call() for seed in range(25)]
    found = Verification(checked=25)
    found.mismatches = [Mismatch(c.call_uuid, "status", "busy", "completed") for c in calls]
    report = DeliveryReport(calls=[CallDelivery(call) for call in calls])
    text = summary(Outcome(3, calls, report, found, START))
    assert "simulated 25 calls (seed 3, start 2026-11-02T08:00:00+00:00)" in text
    assert "verified 25 calls through /v1/calls: 25 mismatches" in text
    listed = [line for line in text.splitlines() if "status expected 'busy'" in line]
    assert listed == [f"  {mismatch}" for mismatch in found.mismatches[:20]]
    assert "  and 5 more" in text.splitlines()
