"""Checks through calltrail's read API that every call ended as the simulator sent it.

A call whose callbacks were all acknowledged must read back with the final status,
answered flag and hangup cause it was given, and with exactly one recorded callback per
distinct callback sent: none lost, none counted twice.
A call with callbacks never acknowledged (the target was down) can only be checked
for doubling. Reads pass ``min_position`` so they wait for the views to catch up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from simulator.delivery import CallDelivery


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One field of one call that does not read back as sent."""

    call_uuid: str
    field: str
    expected: object
    actual: object

    def __str__(self) -> str:
        return f"{self.call_uuid}: {self.field} expected {self.expected!r}, got {self.actual!r}"


@dataclass(slots=True)
class Verification:
    """The outcome of reading every call back."""

    checked: int = 0
    incomplete: int = 0  # calls with callbacks never acknowledged: checked for doubling only
    mismatches: list[Mismatch] = field(default_factory=list)


def compare(delivery: CallDelivery, call: dict[str, Any]) -> list[Mismatch]:
    """The differences between what was sent for a call and what the read API reports."""
    sent = delivery.call
    uuid = sent.call_uuid
    distinct = len(sent.requests)  # each distinct callback recorded once
    found: list[Mismatch] = []
    if delivery.complete:
        expected: dict[str, object] = {
            "status": sent.status.value,
            "answered": sent.answered,
            "hangup_cause_code": int(sent.cause_code),
            "events": distinct,
        }
        for name, value in expected.items():
            if call.get(name) != value:
                found.append(Mismatch(uuid, name, value, call.get(name)))
    elif call.get("events", 0) > distinct:
        found.append(Mismatch(uuid, "events", f"at most {distinct}", call.get("events")))
    return found


async def verify(
    client: httpx.AsyncClient,
    deliveries: Sequence[CallDelivery],
    position: int,
    api_key: str | None,
    concurrency: int = 16,
    deadline_seconds: float = 120.0,
    progress: Callable[[int], object] | None = None,
) -> Verification:
    """Read every delivered call from ``client``'s ``/v1`` API once the views reach ``position``."""
    result = Verification()
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    deadline = time.monotonic() + deadline_seconds
    pending = [d for d in deliveries if d.acknowledged]
    result.incomplete = sum(not d.complete for d in pending)

    async def check(delivery: CallDelivery) -> None:
        uuid = delivery.call.call_uuid
        params = {"min_position": position} if position else {}
        while True:
            response = await client.get(f"/v1/calls/{uuid}", params=params, headers=headers)
            # 503: the view is still behind; the server already waited READ_WAIT_MS.
            if response.status_code != 503 or time.monotonic() > deadline:
                break
        if response.status_code == 404:
            result.mismatches.append(Mismatch(uuid, "call", "stored", "not found"))
        elif response.status_code != 200:
            detail = f"HTTP {response.status_code}: {response.text[:200]}"
            result.mismatches.append(Mismatch(uuid, "read", "HTTP 200", detail))
        else:
            result.mismatches.extend(compare(delivery, response.json()["call"]))
        result.checked += 1
        if progress is not None:
            progress(1)

    queue = list(reversed(pending))

    async def worker() -> None:
        while queue:
            await check(queue.pop())

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return result
