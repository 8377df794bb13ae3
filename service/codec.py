"""A msgspec mapper for stored events: the same JSON shape, encoded and decoded in C.

eventsourcing's ``JSONTranscoder`` wraps datetimes and UUIDs in ``{"_type_", "_data_"}``
objects and rebuilds them in a Python hook per object; on a replay that decoding is a
large share of the time. This mapper writes plain JSON (RFC 3339 times, UUID strings)
with msgspec and restores the typed fields from each event class's annotations.
Events written by the default transcoder are recognised by their wrappers and still read
through it, so existing databases keep loading.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import Mapper, StoredEvent, find_id_convertor
from eventsourcing.utils import get_topic, resolve_topic

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(dict[str, Any]).decode
# What eventsourcing's JSONTranscoder writes for the types it wraps.
_LEGACY = re.compile(rb'\{"_type_":"(?:datetime_iso|uuid_hex|decimal_str)","_data_":')
_CONVERTERS: dict[Any, Callable[[Any], Any]] = {
    datetime: datetime.fromisoformat,
    datetime | None: datetime.fromisoformat,
    UUID: UUID,
    UUID | None: UUID,
}
_IN_COLUMNS = {"originator_id", "originator_version"}


@cache
def _typed_fields(cls: type[Any]) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """The fields of an event class whose JSON form needs converting back (times, UUIDs)."""
    hints = typing.get_type_hints(cls)
    return tuple(
        (field.name, _CONVERTERS[hints[field.name]])
        for field in dataclasses.fields(cls)
        if field.name not in _IN_COLUMNS and hints.get(field.name) in _CONVERTERS
    )


class MsgspecMapper(Mapper[UUID]):
    """Maps domain events to stored events and back, with msgspec JSON."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        """Encode the event's state (all but id and version, which have columns)."""
        if self.compressor or self.cipher:
            return super().to_stored_event(domain_event)
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(type(domain_event)),
            state=_encode(state),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        """Decode a stored event, whichever of the two encodings wrote it."""
        if self.compressor or self.cipher or _LEGACY.search(stored_event.state):
            return super().to_domain_event(stored_event)
        cls = resolve_topic(stored_event.topic)
        state = _decode(stored_event.state)
        for name, convert in _typed_fields(cls):
            value = state.get(name)
            if value is not None:
                state[name] = convert(value)
        id_type: Any = type(stored_event.originator_id)
        state["originator_id"] = find_id_convertor(cls, id_type)(stored_event.originator_id)
        state["originator_version"] = stored_event.originator_version
        from_version = state.pop("class_version", 1)
        while from_version < getattr(cls, "class_version", 1):
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", state)
        return domain_event
