"""Callbacks withheld on purpose: which, how the delivery counts them, how calls are judged."""

from __future__ import annotations

import random
from typing import Any

from domain.callbacks import CallbackKind
from simulator.delivery import CallDelivery, Deliverer, DeliveryOptions, Target, Withholding
from simulator.verify import compare
from tests.call_api import simulated

CALLS = simulated(2000, seed=5)


def test_shares_of_calls_lose_their_hangup_or_every_callback() -> None:
    chosen = Withholding(hangups=0.1, calls=0.02).choose(CALLS, random.Random(1))
    requests = {call.call_uuid: call.requests for call in CALLS}
    every = [u for u, held in chosen.items() if len(held) == len(requests[u]) > 1]
    hangups = [u for u in chosen if u not in every]
    assert 20 <= len(every) <= 60  # 2% of 2,000 (calls of one request only count as hangups)
    assert 160 <= len(hangups) <= 240  # 10%
    for uuid in hangups:
        (index,) = chosen[uuid]
        assert requests[uuid][index].kind is CallbackKind.HANGUP
    assert Withholding().choose(CALLS, random.Random(1)) == {}


def test_withheld_requests_are_never_planned_nor_missed() -> None:
    call = next(c for c in CALLS if len(c.requests) > 3)
    hangup = {i for i, r in enumerate(call.requests) if r.kind is CallbackKind.HANGUP}
    options = DeliveryOptions([Target("http://127.0.0.1:9", "http://127.0.0.1:9")], "token")
    deliverer = Deliverer(options, random.Random(3))
    planned = {i for step in deliverer.plan(call, frozenset(hangup)) for i in step}
    assert planned == set(range(len(call.requests))) - hangup
    delivery = CallDelivery(call, acknowledged=planned, withheld=frozenset(hangup))
    assert delivery.complete
    assert delivery.sent == len(call.requests) - 1
    assert not CallDelivery(call, acknowledged=planned).complete


def read_back(delivery: CallDelivery, events: int, **changes: Any) -> dict[str, Any]:
    call = delivery.call
    found = {"status": call.status.value, "answered": call.answered, "events": events}
    return found | {"hangup_cause_code": int(call.cause_code)} | changes


def test_a_reconciled_call_must_match_and_lose_no_event() -> None:
    call = next(c for c in CALLS if len(c.requests) > 2 and c.cause_code != "3010")
    count = len(call.requests)
    missing = CallDelivery(call, withheld=frozenset(range(count)))
    assert compare(missing, read_back(missing, events=1)) == []  # the reconciled entry
    wrong = compare(missing, read_back(missing, events=1, hangup_cause_code=3010))
    assert [m.field for m in wrong] == ["hangup_cause_code"]
    lost_hangup = CallDelivery(call, set(range(count - 1)), withheld=frozenset({count - 1}))
    assert compare(lost_hangup, read_back(lost_hangup, events=count)) == []
    short = compare(lost_hangup, read_back(lost_hangup, events=count - 2))
    assert [(m.field, m.expected) for m in short] == [("events", f"at least {count - 1}")]
    whole = CallDelivery(call, set(range(count)))
    assert compare(whole, read_back(whole, events=count)) == []
    doubled = compare(whole, read_back(whole, events=count + 2))
    assert [m.field for m in doubled] == ["events"]
