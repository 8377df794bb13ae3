"""A msgspec mapper for stored events: typed JSON, decoded in C, one decoder per event class.

eventsourcing's ``JSONTranscoder`` wraps each datetime and UUID in a ``{"_type_", "_data_"}``
object, rebuilt by a Python hook called for every JSON object: most of the cost of a
replay. This mapper writes plain JSON (RFC 3339 times, UUID strings) with msgspec and
reads it with a decoder typed from the event class's fields, so datetimes, UUIDs, tuples
and ``None`` come back exactly, with no Python call per value.

Enable it with ``MAPPER_TOPIC="store.codec:MsgspecMapper"``. States the default
transcoder wrote are recognised and read as the default ``Mapper`` reads them, so
existing databases load (not the reverse: the default one reads this one's times as str).
"""

from __future__ import annotations

import contextlib
import dataclasses
import typing
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time
from functools import cache
from typing import Any, NotRequired, TypedDict

import msgspec
from eventsourcing.domain import DomainEventProtocol, TAggregateID
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.persistence import find_id_convertor as _find_id_convertor
from eventsourcing.utils import get_topic, resolve_topic

_IN_COLUMNS = ("originator_id", "originator_version")  # the recorder has columns for these
# How every state the default transcoder wrote begins: ``timestamp`` is the first field
# of every eventsourcing event. Seeing it skips a typed decode that would only fail.
_LEGACY = b'{"timestamp":{"_type_":"datetime_iso"'
_encode = msgspec.json.Encoder().encode
_typed_dict: Any = TypedDict  # type checkers accept TypedDict only in a class statement
# typeshed's lru_cache wants Hashable arguments, and does not see classes as Hashable.
_id_convertor = typing.cast(Callable[[type, type], Callable[[Any], Any]], _find_id_convertor)


@dataclasses.dataclass(frozen=True, slots=True)
class _Schema:
    """What the mapper knows about one event class, worked out once."""

    cls: type
    decode: Callable[[bytes], Any]  # bytes -> the state dict, typed
    shape: Any  # the TypedDict ``decode`` yields, for ``msgspec.convert``
    names: frozenset[str]  # every dataclass field, the id and version included
    datetimes: tuple[str, ...]  # fields typed ``datetime`` or ``datetime | None``
    version: int


def _parts(hint: Any) -> Iterator[Any]:
    """``hint`` and every type nested in it."""
    yield hint
    for arg in typing.get_args(hint):
        yield from _parts(arg)


def _precise(hint: Any, is_datetime_field: bool) -> bool:
    """Whether a decoder typed by ``hint`` gives back exactly what was encoded.

    ``Any``, ``object`` or a type variable would decode a datetime or UUID as a string;
    msgspec writes a NaN float as null and rounds a UTC offset to whole minutes, which
    the encoder checks only for datetimes that are fields themselves.
    """
    return not any(
        part in (Any, object, float, time)
        or isinstance(part, typing.TypeVar)
        or (part is datetime and not is_datetime_field)
        for part in _parts(hint)
    )


def _new_schema(cls: type) -> _Schema | None:
    """The schema of ``cls``, or ``None`` to leave the class to the default mapper.

    ``None`` when ``cls`` is not a dataclass, or its annotations cannot be resolved (a
    class defined in a function), are not precise, or name a type msgspec cannot decode:
    nothing is stored inexactly.
    """
    if not dataclasses.is_dataclass(cls):
        return None
    try:
        # Each base's annotations against its own module and class namespace, which is
        # what ``from __future__ import annotations`` strings (``Call.Ended``) need.
        hints = typing.get_type_hints(cls)
        fields = [f for f in dataclasses.fields(cls) if f.name not in _IN_COLUMNS]
        datetimes = tuple(f.name for f in fields if hints[f.name] in (datetime, datetime | None))
        if not all(_precise(hints[f.name], f.name in datetimes) for f in fields):
            return None
        # The id and version are never encoded, but kept by ``convert`` for upcasters.
        annotations: dict[str, Any] = {
            "class_version": NotRequired[int],
            "originator_id": NotRequired[Any],
            "originator_version": NotRequired[int],
        }
        for f in fields:
            # A field with a default may be absent from states stored before it was added;
            # the default mapper tolerates that too (the class attribute answers).
            absent_ok = not (f.default is f.default_factory is dataclasses.MISSING)
            annotations[f.name] = NotRequired[hints[f.name]] if absent_ok else hints[f.name]
        # A TypedDict, not a Struct: msgspec decodes it straight into the dict that
        # becomes the event's __dict__, with no per-field copying in Python.
        shape = _typed_dict(f"{cls.__qualname__}State", annotations)
        decode = msgspec.json.Decoder(shape).decode
    except (NameError, TypeError):
        return None
    names = frozenset(f.name for f in dataclasses.fields(cls))
    version = getattr(cls, "class_version", 1)
    return _Schema(cls, decode, shape, names, datetimes, version)


# Per class, for encoding (cast as ``_id_convertor`` is).
_schema = typing.cast(Callable[[type], _Schema | None], cache(_new_schema))


@cache
def _schema_for_topic(topic: str) -> tuple[type, _Schema | None]:
    """The class a stored topic names, and its schema: one cached lookup per event read."""
    cls: type = resolve_topic(topic)
    return cls, _schema(cls)


def _originator_id(cls: type, stored_event: StoredEvent) -> Any:
    """The event's id as its class types it (a recorder with text ids stores strings)."""
    originator_id = stored_event.originator_id
    if isinstance(originator_id, str):  # UUIDs, the usual case, pass as they are
        originator_id = _id_convertor(cls, str)(originator_id)
    return originator_id


def _whole_minutes(value: object) -> bool:
    """Whether RFC 3339 can carry ``value``'s UTC offset (msgspec would round it)."""
    if value is None or getattr(value, "tzinfo", None) is UTC:  # the usual cases, at once
        return True
    offset = value.utcoffset() if isinstance(value, datetime) else None
    return offset is None or (offset.seconds % 60 == 0 and not offset.microseconds)


class MsgspecMapper(Mapper[TAggregateID]):
    """A ``Mapper`` that stores event states as msgspec JSON and reads them back typed.

    Built by eventsourcing's factory as the default mapper is (``transcoder``,
    ``compressor``, ``cipher``); the transcoder serves what this mapper declines: states
    the default mapper wrote, and events this one cannot store exactly.
    """

    def to_stored_event(self, domain_event: DomainEventProtocol[TAggregateID]) -> StoredEvent:
        """Encode the event's state; its id and version go in columns of their own."""
        schema = _schema(type(domain_event))
        state = dict(vars(domain_event))
        if (
            schema is None
            or state.keys() != schema.names  # an attribute the typed decoder would drop
            or not all(_whole_minutes(state[name]) for name in schema.datetimes)
        ):
            return super().to_stored_event(domain_event)
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        if schema.version > 1:
            state["class_version"] = schema.version
        try:
            data = _encode(state)
        except (msgspec.EncodeError, TypeError):
            # A value of a type msgspec cannot write (the type hint lied): the default
            # transcoder may, and the decoder recognises what it writes.
            return super().to_stored_event(domain_event)
        if self.compressor:
            data = self.compressor.compress(data)
        if self.cipher:
            data = self.cipher.encrypt(data)
        topic = get_topic(type(domain_event))
        return StoredEvent(originator_id, originator_version, topic, data)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[TAggregateID]:
        """Decode a stored event, whether this mapper or the default one wrote it."""
        cls, schema = _schema_for_topic(stored_event.topic)
        if schema is None:
            return super().to_domain_event(stored_event)
        try:
            data = stored_event.state
            if self.cipher:
                data = self.cipher.decrypt(data)
            if self.compressor:
                data = self.compressor.decompress(data)
            state: dict[str, Any] | None = None
            if not data.startswith(_LEGACY):
                try:
                    state = schema.decode(data)
                except msgspec.DecodeError:  # an older version of the class, or NaN
                    state = None
            if state is None or state.pop("class_version", 1) != schema.version:
                state = self._decode_other(data, schema, stored_event)
        except Exception as error:
            raise MapperDeserialisationError(
                f"Failed to deserialise state of stored event with topic "
                f"'{stored_event.topic}', originator_id '{stored_event.originator_id}' and "
                f"originator_version {stored_event.originator_version}: {error}"
            ) from error
        state["originator_id"] = _originator_id(cls, stored_event)
        state["originator_version"] = stored_event.originator_version
        # As eventsourcing's Mapper does: events are frozen, and __init__ is not re-run.
        domain_event: object = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", state)
        return typing.cast("DomainEventProtocol[TAggregateID]", domain_event)

    def _decode_other(self, data: bytes, schema: _Schema, stored: StoredEvent) -> dict[str, Any]:
        """Decode with the transcoder and upcast, as the default mapper does; then, unless
        the default transcoder wrote it, restore the types this encoding left as strings
        (if the state fits the class: if not, it is left as the default mapper leaves it).
        """
        state: dict[str, Any] = self.transcoder.decode(data)
        state["originator_id"] = _originator_id(schema.cls, stored)
        state["originator_version"] = stored.originator_version
        version = state.pop("class_version", 1)
        while version < schema.version:
            getattr(schema.cls, f"upcast_v{version}_v{version + 1}")(state)
            version += 1
        if not data.startswith(_LEGACY):
            with contextlib.suppress(msgspec.ValidationError):
                state = msgspec.convert(state, schema.shape)
        return state
