"""Delivers simulated calls over HTTP the way Plivo does, and records what was acknowledged.

Calls run concurrently; one call's callbacks go one after another (Plivo fires them as
the call progresses), in their natural order or shuffled (``reorder_rate``), spread over
every target in turn. A duplicate (``duplicate_rate``) is sent at the same moment as its
original, to the next target, as an overlapping Plivo retry would be. A 5xx or a
transport error is retried with backoff, as Plivo does with ``#rp=all``; a 4xx is not.
Callbacks can be withheld on purpose (``Withholding``): never sent, as when Plivo gives
up on a webhook; they are reported apart and are not delivery failures.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import httpx

from domain.callbacks import CallbackKind
from simulator.calls import Request, SimulatedCall
from simulator.signing import PATHS, sign_request


@dataclass(frozen=True, slots=True)
class Target:
    """A calltrail instance: where to connect, and the public URL it verifies signatures for."""

    url: str
    public_url: str


@dataclass(frozen=True, slots=True)
class DeliveryOptions:
    """How to send: credentials, concurrency, pacing, and the faults Plivo's delivery has."""

    targets: Sequence[Target]
    auth_token: str
    main_token: str | None = None
    concurrency: int = 32
    rate: float = 0.0  # requests per second; 0: as fast as the targets answer
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    get_share: float = 0.0
    retries: int = 5  # Plivo's most (rc=5)
    backoff: float = 0.05  # seconds, doubled at each retry
    max_backoff: float = 2.0
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class Withholding:
    """Callbacks never sent, on purpose, as if Plivo had given up on their webhooks."""

    hangups: float = 0.0  # share of calls whose hangup callback is never sent
    calls: float = 0.0  # share of calls none of whose callbacks is sent

    def choose(
        self, calls: Sequence[SimulatedCall], rng: random.Random
    ) -> dict[str, frozenset[int]]:
        """The request indices to withhold, by call UUID (calls withholding nothing left out)."""
        chosen: dict[str, frozenset[int]] = {}
        for call in calls:
            draw = rng.random()
            if draw < self.calls:
                chosen[call.call_uuid] = frozenset(range(len(call.requests)))
            elif draw < self.calls + self.hangups:
                kinds = enumerate(request.kind for request in call.requests)
                chosen[call.call_uuid] = frozenset(
                    i for i, kind in kinds if kind is CallbackKind.HANGUP
                )
        return chosen


@dataclass(slots=True)
class CallDelivery:
    """One call's delivery: which of its requests were acknowledged with a 2xx."""

    call: SimulatedCall
    acknowledged: set[int] = field(default_factory=set)
    rejected: dict[int, int] = field(default_factory=dict)  # request index → 4xx status
    uncertain: int = 0  # attempts that may have reached the store without a reply
    withheld: frozenset[int] = frozenset()  # never sent, on purpose

    @property
    def complete(self) -> bool:
        """Every request of the call not withheld was acknowledged at least once."""
        return len(self.acknowledged) + len(self.withheld) == len(self.call.requests)

    @property
    def sent(self) -> int:
        """How many distinct requests of the call were meant to be delivered."""
        return len(self.call.requests) - len(self.withheld)


@dataclass(slots=True)
class DeliveryReport:
    """What the run sent and how the targets answered."""

    calls: list[CallDelivery] = field(default_factory=list)
    attempts: int = 0
    acknowledged: int = 0
    duplicates: int = 0
    retried: int = 0
    unavailable: int = 0  # 5xx replies
    transport_errors: int = 0
    error_kinds: Counter[str] = field(default_factory=Counter)  # transport errors by type
    latencies: list[float] = field(default_factory=list)  # seconds, acknowledged attempts
    position: int = 0  # highest X-Calltrail-Position seen: the log position to read at
    seconds: float = 0.0


class _Pacer:
    """Spaces request starts to ``rate`` per second (none when 0)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.next = 0.0

    async def wait(self) -> None:
        if not self.interval:
            return
        now = time.perf_counter()
        slot = max(self.next, now)
        self.next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


class Deliverer:
    """Sends calls to the targets and fills a ``DeliveryReport``."""

    def __init__(
        self,
        options: DeliveryOptions,
        rng: random.Random,
        progress: Callable[[int], object] | None = None,
        observer: Callable[[int], object] | None = None,
    ) -> None:
        self.options = options
        self.rng = rng
        self.progress = progress
        self.observer = observer  # told each reply's status (0: no reply), e.g. by fault tests
        self.report = DeliveryReport()
        self.pacer = _Pacer(options.rate)
        self._turn = 0
        self._tls = httpx.create_ssl_context()  # one for all clients: each costs ~50 ms

    def plan(self, call: SimulatedCall, withheld: frozenset[int] = frozenset()) -> list[list[int]]:
        """The call's sends, in order: each step is one request, or it and its duplicate."""
        order = [index for index in range(len(call.requests)) if index not in withheld]
        if self.rng.random() < self.options.reorder_rate:
            self.rng.shuffle(order)
        steps: list[list[int]] = []
        for index in order:
            twice = self.rng.random() < self.options.duplicate_rate
            steps.append([index, index] if twice else [index])
        return steps

    async def run(
        self,
        calls: Sequence[SimulatedCall],
        withheld: Mapping[str, frozenset[int]] | None = None,
    ) -> DeliveryReport:
        """Deliver ``calls`` but what is ``withheld``, ``concurrency`` calls in flight."""
        withheld = withheld or {}
        queue: asyncio.Queue[tuple[CallDelivery, list[list[int]]]] = asyncio.Queue()
        for call in calls:
            delivery = CallDelivery(call, withheld=withheld.get(call.call_uuid, frozenset()))
            queue.put_nowait((delivery, self.plan(call, delivery.withheld)))
        started = time.perf_counter()
        workers = [self._worker(queue) for _ in range(max(1, self.options.concurrency))]
        await asyncio.gather(*workers)
        self.report.seconds = time.perf_counter() - started
        return self.report

    async def _worker(self, queue: asyncio.Queue[tuple[CallDelivery, list[list[int]]]]) -> None:
        # A client per worker (a small pool each): httpcore's shared pool scans every
        # connection for every request, which cost more CPU than the requests themselves.
        clients = [
            httpx.AsyncClient(base_url=t.url, timeout=self.options.timeout, verify=self._tls)
            for t in self.options.targets
        ]
        try:
            await self._work(queue, clients)
        finally:
            for client in clients:
                await client.aclose()

    async def _work(
        self,
        queue: asyncio.Queue[tuple[CallDelivery, list[list[int]]]],
        clients: list[httpx.AsyncClient],
    ) -> None:
        while not queue.empty():
            delivery, steps = queue.get_nowait()
            self.report.calls.append(delivery)
            for step in steps:
                self.report.duplicates += len(step) - 1
                sends = [self._send(delivery, index, clients) for index in step]
                await asyncio.gather(*sends)
            if self.progress is not None:
                self.progress(1)

    def _observe(self, status: int) -> None:
        if self.observer is not None:
            self.observer(status)

    def _next_target(self) -> int:
        self._turn += 1
        return self._turn % len(self.options.targets)

    async def _send(
        self, delivery: CallDelivery, index: int, clients: list[httpx.AsyncClient]
    ) -> None:
        request: Request = delivery.call.requests[index]
        options, report = self.options, self.report
        method = "GET" if self.rng.random() < options.get_share else "POST"
        for attempt in range(options.retries + 1):
            if attempt:
                report.retried += 1
                pause = min(options.max_backoff, options.backoff * 2 ** (attempt - 1))
                await asyncio.sleep(pause)
            which = self._next_target()
            target = options.targets[which]
            signed = sign_request(
                target.public_url,
                PATHS[request.kind],
                dict(request.params),
                method,
                options.auth_token,
                options.main_token,
            )
            await self.pacer.wait()
            report.attempts += 1
            began = time.perf_counter()
            try:
                response = await clients[which].request(
                    signed.method, signed.target, headers=signed.headers, content=signed.body
                )
            except httpx.TransportError as error:
                report.transport_errors += 1
                report.error_kinds[type(error).__name__] += 1
                delivery.uncertain += 1
                self._observe(0)
                continue
            self._observe(response.status_code)
            if response.status_code >= 500:
                report.unavailable += 1
                continue
            if response.status_code >= 400:
                delivery.rejected[index] = response.status_code
                break
            report.latencies.append(time.perf_counter() - began)
            report.acknowledged += 1
            delivery.acknowledged.add(index)
            position = response.headers.get("X-Calltrail-Position", "")
            if position.isdigit():
                report.position = max(report.position, int(position))
            break
