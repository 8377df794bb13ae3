"""One simulation: draw calls, deliver them, read them back, and summarise.

Unless a start is given, the calls are placed in the past, the last one ending as the
run begins: every callback then arrives after the moment it reports, as Plivo's do.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import httpx
from tqdm import tqdm

from simulator.calls import CallFactory, Profile, SimulatedCall
from simulator.delivery import Deliverer, DeliveryOptions, DeliveryReport, Target, Withholding
from simulator.verify import Verification, log_head, verify

LISTED = 20  # mismatches and rejections listed by name in the report; the rest are counted


@dataclass(frozen=True, slots=True)
class Simulation:
    """Everything a run needs: the traffic, how to deliver it, how to check it."""

    delivery: DeliveryOptions
    calls: int = 1000
    seed: int = 0
    profile: Profile = field(default_factory=Profile)
    start: datetime | None = None
    api_key: str | None = None
    verify: bool = True
    progress: bool = True
    observer: Callable[[int], object] | None = None  # each reply's HTTP status (0: none)
    on_call: Callable[[int], object] | None = None  # each call delivered
    withholding: Withholding = field(default_factory=Withholding)


@dataclass(slots=True)
class Outcome:
    """What a run did and found."""

    seed: int
    calls: list[SimulatedCall]
    report: DeliveryReport
    verification: Verification | None
    start: datetime | None = None  # the first call's start: with the seed, it replays the run

    @property
    def ok(self) -> bool:
        """Nothing rejected, every callback acknowledged, every call read back as sent."""
        report = self.report
        rejected = any(delivery.rejected for delivery in report.calls)
        complete = all(delivery.complete for delivery in report.calls)
        verified = self.verification is None or not self.verification.mismatches
        return not rejected and complete and verified


class UnreachableError(Exception):
    """A target that cannot be connected to: most likely no calltrail runs there."""

    def __init__(self, url: str, error: Exception) -> None:
        super().__init__(
            f"cannot connect to {url} ({type(error).__name__}): is calltrail running at {url}?"
        )


def draw(simulation: Simulation) -> list[SimulatedCall]:
    """The calls of ``simulation``: the same seed and start give the same calls."""
    factory = CallFactory(simulation.seed, simulation.profile, simulation.start)
    return [factory.call() for _ in range(simulation.calls)]


def placed(simulation: Simulation, moment: datetime | None = None) -> Simulation:
    """``simulation`` with a start: its own, or the one that ends its last call at ``moment``
    (default: now). The seed alone decides how long the calls last, so one probe tells."""
    if simulation.start is not None:
        return simulation
    moment = moment or datetime.now(UTC)
    probe = draw(replace(simulation, start=moment))
    last = max((call.ended_at or moment for call in probe), default=moment)
    return replace(simulation, start=moment - (last - moment))


async def reachable(targets: Sequence[Target], timeout: float) -> None:
    """Raise ``UnreachableError`` unless every target accepts a connection (any reply will do)."""
    async with httpx.AsyncClient(timeout=timeout) as client:
        for target in targets:
            try:
                await client.get(f"{target.url}/healthz")
            except httpx.TransportError as error:
                raise UnreachableError(target.url, error) from None


async def run_async(simulation: Simulation, calls: list[SimulatedCall] | None = None) -> Outcome:
    """Deliver and (unless turned off) verify; see ``run``."""
    if calls is None:
        simulation = placed(simulation)
        calls = draw(simulation)
    await reachable(simulation.delivery.targets, simulation.delivery.timeout)
    withheld = simulation.withholding.choose(calls, random.Random(simulation.seed ^ 0xD209))
    rng = random.Random(simulation.seed ^ 0x5EED)
    with tqdm(
        total=len(calls), unit="call", desc="deliver", disable=not simulation.progress
    ) as bar:
        on_call = simulation.on_call

        def delivered(count: int) -> None:
            bar.update(count)
            if on_call is not None:
                on_call(count)

        deliverer = Deliverer(simulation.delivery, rng, delivered, simulation.observer)
        report = await deliverer.run(calls, withheld)
    verification = None
    if simulation.verify:
        verification = await read_back(simulation, report, report.position)
    return Outcome(simulation.seed, calls, report, verification, simulation.start)


async def read_back(
    simulation: Simulation, report: DeliveryReport, position: int | None = None
) -> Verification:
    """Verify every call of ``report`` once the views reach ``position`` (None: the log's end)."""
    target = simulation.delivery.targets[0].url
    timeout = simulation.delivery.timeout
    calls = len(report.calls)
    bar = tqdm(total=calls, unit="call", desc="verify", disable=not simulation.progress)
    with bar:
        async with httpx.AsyncClient(base_url=target, timeout=timeout) as client:
            try:
                if position is None:
                    position = await log_head(client, simulation.api_key)
                return await verify(
                    client, report.calls, position, simulation.api_key, progress=bar.update
                )
            except httpx.TransportError as error:
                raise UnreachableError(target, error) from None


def run(simulation: Simulation, calls: list[SimulatedCall] | None = None) -> Outcome:
    """Run ``simulation`` (on ``calls`` if given, else its own draw) in its own event loop."""
    return asyncio.run(run_async(simulation, calls))


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def summary(outcome: Outcome) -> str:
    """The report printed at the end of ``calltrail simulate``."""
    lines = delivery_lines(outcome) + withheld_lines(outcome.report)
    if outcome.verification is not None:
        lines += verification_lines(outcome.verification)
    return "\n".join(lines + rejection_lines(outcome.report))


def delivery_lines(outcome: Outcome) -> list[str]:
    """What was sent (with the seed and start that replay it), and how it was answered."""
    report = outcome.report
    callbacks = sum(len(call.requests) for call in outcome.calls)
    rejected = sum(len(delivery.rejected) for delivery in report.calls)
    incomplete = sum(not delivery.complete for delivery in report.calls)
    rate = report.acknowledged / report.seconds if report.seconds else 0.0
    ms = [1000 * value for value in report.latencies]
    kinds = ", ".join(f"{name} {count:,}" for name, count in report.error_kinds.most_common())
    started = f", start {outcome.start.isoformat()}" if outcome.start else ""
    return [
        f"simulated {len(outcome.calls):,} calls (seed {outcome.seed}{started}):"
        f" {callbacks:,} callbacks + {report.duplicates:,} duplicates,"
        f" {report.attempts:,} requests in {report.seconds:.1f} s",
        f"  acknowledged {report.acknowledged:,} ({rate:,.0f} req/s); retried {report.retried:,};"
        f" 5xx {report.unavailable:,}; transport errors {report.transport_errors:,}"
        f"{f' ({kinds})' if kinds else ''};"
        f" rejected (4xx) {rejected:,}; calls not fully acknowledged {incomplete:,}",
        f"  latency ms: p50 {percentile(ms, 0.5):.1f}  p95 {percentile(ms, 0.95):.1f}"
        f"  p99 {percentile(ms, 0.99):.1f}",
    ]


def rejection_lines(report: DeliveryReport) -> list[str]:
    """The first callbacks refused with a 4xx, and a hint when signatures did not verify."""
    refused = [(d, i, s) for d in report.calls for i, s in d.rejected.items()]
    lines = [
        f"  rejected: {delivery.call.call_uuid} {delivery.call.requests[index].kind.value}"
        f" HTTP {status}"
        for delivery, index, status in refused[:LISTED]
    ]
    lines += more(len(refused))
    if any(status == 403 for _d, _i, status in refused):
        lines.append(
            "  403 means a signature did not verify: sign with the target's auth token, and"
            " give --public-url when the target's CALLTRAIL_PUBLIC_URL is not the URL you send to"
        )
    return lines


def withheld_lines(report: DeliveryReport) -> list[str]:
    """What was withheld on purpose, if anything: reported, not counted as failures."""
    withheld = [delivery for delivery in report.calls if delivery.withheld]
    if not withheld:
        return []
    undelivered = sum(delivery.sent == 0 for delivery in withheld)
    callbacks = sum(len(delivery.withheld) for delivery in withheld)
    return [
        f"  withheld on purpose (not failures): the hangup of {len(withheld) - undelivered:,}"
        f" calls and every callback of {undelivered:,} calls, {callbacks:,} callbacks never sent"
    ]


def verification_lines(found: Verification) -> list[str]:
    """What the read-back found: mismatches, then open and missing calls apart."""
    lines = [
        f"verified {found.checked:,} calls through /v1/calls: {len(found.mismatches):,}"
        f" mismatches ({found.incomplete:,} not fully acknowledged, checked for doubling only)"
    ]
    lines += [f"  {mismatch}" for mismatch in found.mismatches[:LISTED]]
    lines += more(len(found.mismatches))
    if found.open or found.missing:
        lines.append(
            f"  {len(found.open):,} calls open, {len(found.missing):,} calls missing"
            " (callbacks withheld on purpose: reconcile with Plivo's Call API to complete them)"
        )
    return lines


def more(count: int) -> list[str]:
    """The line that counts what a list of ``count`` items leaves out, if anything."""
    return [f"  and {count - LISTED:,} more"] if count > LISTED else []
