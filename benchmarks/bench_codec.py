"""Event codec speed: the msgspec mapper against eventsourcing's default, in the same run.

Folds ``BENCH_CODEC_EVENTS`` (default 200,000) events of realistic simulated calls, has
each mapper encode them all, checks that every stored event decodes back exactly, then
times decoding (best of ``BENCH_CODEC_ROUNDS``, default 3): the default mapper on its own
states, the msgspec mapper on its states and on the default's (an existing database), and
a bare untyped msgspec decode of the same states, the floor any mapper pays.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import Mapper, StoredEvent

from benchmarks.workloads import SHAPES
from domain.call import Call
from store.application import CallLog
from store.codec import MsgspecMapper


def events(target: int) -> list[Any]:
    """At least ``target`` events of folded calls, in the order they were triggered."""
    made: list[Any] = []
    while len(made) < target:
        spec = SHAPES[len(made) % len(SHAPES)]()
        call = Call.register(spec.call_uuid, spec.callbacks[0].received_at)
        for callback in spec.callbacks:
            call.receive(callback)
        made += call.collect_events()
    return made


def mapper(topic: str) -> Mapper[UUID]:
    """The mapper a ``CallLog`` builds with ``MAPPER_TOPIC=topic`` ("" for the default)."""
    env = {"PERSISTENCE_MODULE": "eventsourcing.popo", "MAPPER_TOPIC": topic}
    return CallLog(env=env).mapper


def rate(work: Callable[[Any], object], items: Sequence[Any], rounds: int) -> float:
    """Items per second of ``work`` over ``items``, best of ``rounds``."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for item in items:
            work(item)
        best = min(best, time.perf_counter() - started)
    return len(items) / best


def encode(mapper: Mapper[UUID], items: Sequence[Any]) -> tuple[list[StoredEvent], float]:
    """``items`` encoded by ``mapper``, and the events per second it took."""
    started = time.perf_counter()
    stored = [mapper.to_stored_event(item) for item in items]
    return stored, len(items) / (time.perf_counter() - started)


def main() -> None:
    """Encode with both mappers, check the round trips, then time decoding in one run."""
    target = int(os.environ.get("BENCH_CODEC_EVENTS", "200000"))
    rounds = int(os.environ.get("BENCH_CODEC_ROUNDS", "3"))
    default, fast = mapper(""), mapper("store.codec:MsgspecMapper")
    assert isinstance(fast, MsgspecMapper)
    assert type(default) is Mapper
    originals = events(target)
    count = len(originals)
    print(f"{count:,} events of {len(SHAPES)} call shapes")

    old, old_rate = encode(default, originals)
    new, new_rate = encode(fast, originals)
    for mine, theirs, event in zip(new, old, originals, strict=True):
        assert vars(fast.to_domain_event(mine)) == vars(event)
        assert vars(fast.to_domain_event(theirs)) == vars(default.to_domain_event(theirs))
    old_bytes = sum(len(stored.state) for stored in old) / count
    new_bytes = sum(len(stored.state) for stored in new) / count
    print(f"encode  default Mapper:          {old_rate:12,.0f} events/s  ({old_bytes:.0f} B)")
    print(f"encode  MsgspecMapper:           {new_rate:12,.0f} events/s  ({new_bytes:.0f} B)")

    floor = msgspec.json.Decoder().decode
    baseline = rate(default.to_domain_event, old, rounds)
    decoded = rate(fast.to_domain_event, new, rounds)
    legacy = rate(fast.to_domain_event, old, rounds)
    bare = rate(lambda stored: floor(stored.state), new, rounds)
    print(f"decode  default Mapper:          {baseline:12,.0f} events/s")
    print(f"decode  MsgspecMapper:           {decoded:12,.0f} events/s  (goal > 200,000)")
    print(f"decode  MsgspecMapper, old rows: {legacy:12,.0f} events/s")
    print(f"decode  bare msgspec (floor):    {bare:12,.0f} events/s")
    print(f"ratio msgspec/default decode:    {decoded / baseline:12.2f}")
    print(f"ratio old rows/default decode:   {legacy / baseline:12.2f}  (goal >= 0.9)")


if __name__ == "__main__":
    main()
