"""Checks through calltrail's read API that every call ended as the simulator sent it.

A call whose callbacks were all acknowledged must read back with the final status,
answered flag and hangup cause it was given, and with exactly one recorded callback per
distinct callback sent: none lost, none counted twice.
A call with callbacks never acknowledged (the target was down) can only be checked
for doubling. Reads pass ``min_position`` so they wait for the views to catch up.

A call with callbacks withheld on purpose is expected to be incomplete until it is
reconciled with Plivo's Call API: read back with a status that is not terminal it is
*open*, not found it is *missing*, and both are listed apart from the mismatches. Once
it reads back terminal it must match like any other call; its events are checked for
loss only (reconciling adds entries of its own).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from domain.status import TERMINAL
from simulator.delivery import CallDelivery

_TERMINAL = frozenset(status.value for status in TERMINAL)


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
    open: list[str] = field(default_factory=list)  # withheld callbacks, status not terminal
    missing: list[str] = field(default_factory=list)  # every callback withheld, not found


def compare(delivery: CallDelivery, call: dict[str, Any]) -> list[Mismatch]:
    """The differences between what was sent for a call and what the read API reports."""
    sent = delivery.call
    uuid = sent.call_uuid
    distinct = delivery.sent  # each distinct callback delivered, recorded once
    events = call.get("events", 0)
    found: list[Mismatch] = []
    if delivery.complete:
        expected: dict[str, object] = {
            "status": sent.status.value,
            "answered": sent.answered,
            "hangup_cause_code": int(sent.cause_code),
        }
        for name, value in expected.items():
            if call.get(name) != value:
                found.append(Mismatch(uuid, name, value, call.get(name)))
        if events < distinct or (events != distinct and not delivery.withheld):
            wanted = f"at least {distinct}" if delivery.withheld else distinct
            found.append(Mismatch(uuid, "events", wanted, events))
    elif events > distinct:
        found.append(Mismatch(uuid, "events", f"at most {distinct}", call.get("events")))
    return found


def judge(result: Verification, delivery: CallDelivery, response: httpx.Response) -> None:
    """File one call's read-back as missing, open, or by its mismatches."""
    uuid = delivery.call.call_uuid
    if response.status_code == 404 and delivery.sent == 0:
        result.missing.append(uuid)
    elif response.status_code == 404:
        result.mismatches.append(Mismatch(uuid, "call", "stored", "not found"))
    elif response.status_code != 200:
        detail = f"HTTP {response.status_code}: {response.text[:200]}"
        result.mismatches.append(Mismatch(uuid, "read", "HTTP 200", detail))
    else:
        call = response.json()["call"]
        if delivery.withheld and call.get("status") not in _TERMINAL:
            result.open.append(uuid)
        else:
            result.mismatches.extend(compare(delivery, call))


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
    pending = [d for d in deliveries if d.acknowledged or d.withheld]
    result.incomplete = sum(not d.complete for d in pending)

    async def check(delivery: CallDelivery) -> None:
        uuid = delivery.call.call_uuid
        params = {"min_position": position} if position else {}
        while True:
            response = await client.get(f"/v1/calls/{uuid}", params=params, headers=headers)
            # 503: the view is still behind; the server already waited READ_WAIT_MS.
            if response.status_code != 503 or time.monotonic() > deadline:
                break
        judge(result, delivery, response)
        result.checked += 1
        if progress is not None:
            progress(1)

    queue = list(reversed(pending))

    async def worker() -> None:
        while queue:
            await check(queue.pop())

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return result


async def log_head(client: httpx.AsyncClient, api_key: str | None) -> int:
    """The position of the newest event in the target's log (``/v1/events``)."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    response = await client.get("/v1/events", params={"limit": 1}, headers=headers)
    response.raise_for_status()
    return int(response.json()["position"])
