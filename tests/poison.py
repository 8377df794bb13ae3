"""Events the views cannot apply, written straight into the store through eventsourcing's
recorder, as an older or newer version (or a bug) might have left them."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import uuid
import zlib
from collections.abc import Iterator
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import clear_topic_cache, register_topic

from domain.call import Call
from store.application import CallLog
from store.codec import MsgspecMapper
from store.compression import json_of
from tests.factories import CallSpec


def stored_events(call_log: CallLog, spec: CallSpec) -> list[StoredEvent]:
    """The events ``spec``'s callbacks make, in order, as the call log stores them."""
    call = Call.register(spec.call_uuid, spec.callbacks[0].received_at)
    for callback in spec.callbacks:
        call.receive(callback)
    return [call_log.mapper.to_stored_event(event) for event in call.collect_events()]


def insert(call_log: CallLog, events: list[StoredEvent]) -> list[int]:
    """Write ``events`` as they are; return their log positions."""
    positions = call_log.recorder.insert_events(events)
    assert positions is not None
    return list(positions)


def unknown_topic() -> str:
    """The topic of an event class this version does not have (one a later version
    added), new each time: topics once resolved stay cached."""
    return f"domain.call:Call.Transferred{uuid.uuid4().hex[:8]}"


def renamed(event: StoredEvent, topic: str) -> StoredEvent:
    """``event`` stored under another topic."""
    return dataclasses.replace(event, topic=topic)


def compressed(event: StoredEvent) -> StoredEvent:
    """``event`` with its state compressed with zlib, as a version with another compressor
    stored it: the mapper of this version cannot decode it."""
    return dataclasses.replace(event, state=zlib.compress(json_of(event.state)))


def with_param(event: StoredEvent, name: str, value: str) -> StoredEvent:
    """``event`` with one callback parameter replaced by ``value`` (even one that a store
    cannot keep in a text column, such as a lone surrogate)."""
    state: dict[str, Any] = json.loads(json_of(event.state))
    state["params"][name] = value
    return dataclasses.replace(event, state=json.dumps(state).encode())


class ReadsCompressedStates(MsgspecMapper[Any]):
    """The mapper of a version that also reads the states an older one stored compressed:
    the fix ``calltrail quarantine retry`` is run with."""

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        """Decompress a compressed state first."""
        if stored_event.state[:2] == b"\x78\x9c":  # zlib's header
            state = zlib.decompress(stored_event.state)
            stored_event = dataclasses.replace(stored_event, state=state)
        return super().to_domain_event(stored_event)


FIXED_MAPPER = {"MAPPER_TOPIC": "tests.poison:ReadsCompressedStates"}


@contextlib.contextmanager
def known_as(topic: str, cls: type) -> Iterator[None]:
    """``topic`` resolved to ``cls`` during the block: the fix for an unknown topic."""
    register_topic(topic, cls)
    try:
        yield
    finally:
        clear_topic_cache()  # resolved again on next use
