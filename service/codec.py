"""A msgspec mapper for stored events: typed JSON, decoded in C, one decoder per event class.

eventsourcing's ``JSONTranscoder`` wraps every datetime and UUID in a
``{"_type_": ..., "_data_": ...}`` object and rebuilds it in a Python hook called for
every JSON object; on a replay that is most of the cost of loading an event. This mapper
writes plain JSON (RFC 3339 times, UUID strings) with msgspec, and reads it back with a
decoder typed from the event class's dataclass fields, so times, UUIDs, tuples, enums
and ``None`` come back as they went in, without a Python call per value.

Enable it with ``MAPPER_TOPIC="service.codec:MsgspecMapper"``. States written by the
default transcoder fail the typed decoder (an object where a datetime is expected) and
are then read exactly as the default ``Mapper`` reads them, so existing databases load.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import typing
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any, NotRequired, TypedDict

import msgspec
from eventsourcing.domain import DomainEventProtocol, TAggregateID
from eventsourcing.persistence import (
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    find_id_convertor,
)
from eventsourcing.utils import get_topic, resolve_topic

# Stored in the recorder's own columns, so never in the state.
_IN_COLUMNS = ("originator_id", "originator_version")
_encode = msgspec.json.Encoder().encode


@dataclasses.dataclass(frozen=True, slots=True)
class _Schema:
    """What the mapper knows about one event class, worked out once."""

    cls: type[Any]
    decode: Callable[[bytes], dict[str, Any]]
    shape: type[Any]  # the TypedDict ``decode`` produces, for ``msgspec.convert``
    names: frozenset[str]  # every dataclass field, the id and version included
    datetimes: tuple[str, ...]  # fields typed ``datetime`` (or ``datetime | None``)
    version: int


def _precise(hint: Any) -> bool:
    """Whether a decoder typed by ``hint`` gives back exactly what was encoded.

    ``Any``, ``object`` or a type variable would decode a datetime or UUID as a string.
    """
    # msgspec writes a NaN or infinite float as null; the default transcoder keeps them.
    if hint in (Any, object, float) or isinstance(hint, typing.TypeVar):
        return False
    return all(_precise(arg) for arg in typing.get_args(hint) if arg is not Ellipsis)


def _hints(cls: type[Any]) -> dict[str, Any]:
    """The resolved annotations of ``cls`` (``from __future__ import annotations`` makes
    them all strings).

    ``get_type_hints`` reads each base's module and class namespace; an annotation naming
    a sibling nested class (``Ended`` inside ``Call``) also needs the enclosing classes'.
    """
    try:
        return typing.get_type_hints(cls)
    except NameError:
        namespace: dict[str, Any] = {}
        outer: Any = sys.modules[cls.__module__]
        for name in cls.__qualname__.split(".")[:-1]:
            outer = getattr(outer, name)
            namespace.update(vars(outer))
        return typing.get_type_hints(cls, localns=namespace)


@cache
def _schema(cls: type[Any]) -> _Schema | None:
    """The typed decoder for ``cls``, or ``None`` to leave the class to the default mapper.

    ``None`` when the class is not a dataclass, its annotations cannot be resolved (a
    class defined in a function) or are imprecise, or msgspec cannot decode one of them.
    Such classes are written and read as the default mapper does, so nothing is lost.
    """
    if not dataclasses.is_dataclass(cls):
        return None
    try:
        hints = _hints(cls)
        fields = [f for f in dataclasses.fields(cls) if f.name not in _IN_COLUMNS]
        if not all(_precise(hints[f.name]) for f in fields):
            return None
        annotations: dict[str, Any] = {"class_version": NotRequired[int]}
        for f in fields:
            # A field with a default may be missing from a state stored before it was
            # added; the default mapper tolerates that (the class attribute answers).
            optional = f.default is not dataclasses.MISSING or (
                f.default_factory is not dataclasses.MISSING
            )
            annotations[f.name] = NotRequired[hints[f.name]] if optional else hints[f.name]
        shape: type[Any] = TypedDict(f"{cls.__qualname__}State", annotations)  # type: ignore[operator]
        decode = msgspec.json.Decoder(shape).decode
    except (NameError, TypeError):
        return None
    return _Schema(
        cls=cls,
        decode=decode,
        shape=shape,
        names=frozenset(f.name for f in dataclasses.fields(cls)),
        datetimes=tuple(f.name for f in fields if hints[f.name] in (datetime, datetime | None)),
        version=getattr(cls, "class_version", 1),
    )


@cache
def _schema_for_topic(topic: str) -> tuple[type[Any], _Schema | None]:
    """The event class a stored topic names, and its schema: one lookup per event read."""
    cls: type[Any] = resolve_topic(topic)
    return cls, _schema(cls)


def _whole_minutes(value: object) -> bool:
    """RFC 3339 offsets are whole minutes; msgspec would round a finer one away."""
    offset = value.utcoffset() if isinstance(value, datetime) else None
    return offset is None or (offset.seconds % 60 == 0 and not offset.microseconds)


class MsgspecMapper(Mapper[TAggregateID]):
    """A ``Mapper`` that stores event state as msgspec JSON and reads it back typed.

    Constructed by eventsourcing's factory like the default mapper (``transcoder``,
    ``compressor``, ``cipher``); the transcoder is kept for what this mapper declines:
    states written by it before, and events of classes it cannot type exactly.
    """

    def to_stored_event(self, domain_event: DomainEventProtocol[TAggregateID]) -> StoredEvent:
        """Encode the event's state; the id and version go in their own columns."""
        schema = _schema(type(domain_event))
        state = dict(vars(domain_event))
        if (
            schema is None
            or state.keys() != schema.names  # an attribute the decoder would drop
            or not all(_whole_minutes(state[name]) for name in schema.datetimes)
        ):
            return super().to_stored_event(domain_event)
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        if schema.version > 1:
            state["class_version"] = schema.version
        try:
            data = _encode(state)
        except (msgspec.EncodeError, TypeError, OverflowError):
            # A value msgspec cannot write (an int beyond 64 bits, an unknown type):
            # the default transcoder may, and the typed decoder hands such states back.
            return super().to_stored_event(domain_event)
        if self.compressor:
            data = self.compressor.compress(data)
        if self.cipher:
            data = self.cipher.encrypt(data)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(type(domain_event)),
            state=data,
        )

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
            try:
                state = schema.decode(data)
            except msgspec.DecodeError:
                # Written by the default transcoder (a wrapper object where a datetime is
                # expected, or NaN), or by an older version of the class.
                state = None
            if state is None or state.pop("class_version", 1) != schema.version:
                state = self._decode_other(data, schema)
        except Exception as error:
            raise MapperDeserialisationError(
                f"Failed to deserialise state of stored event with topic "
                f"'{stored_event.topic}', originator_id '{stored_event.originator_id}' and "
                f"originator_version {stored_event.originator_version}: {error}"
            ) from error
        convert = find_id_convertor(cls, type(stored_event.originator_id))
        state["originator_id"] = convert(stored_event.originator_id)
        state["originator_version"] = stored_event.originator_version
        # As eventsourcing's Mapper does: events are frozen and __init__ is not re-run.
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", state)
        return typing.cast(DomainEventProtocol[TAggregateID], domain_event)

    def _decode_other(self, data: bytes, schema: _Schema) -> dict[str, Any]:
        """A state the typed decoder cannot take as is: upcast it, then type it if it fits.

        The transcoder reads both encodings (in this one, times are still strings); a
        state that does not fit the class even so is returned as the default mapper would.
        """
        state: dict[str, Any] = self.transcoder.decode(data)
        version = state.pop("class_version", 1)
        while version < schema.version:
            getattr(schema.cls, f"upcast_v{version}_v{version + 1}")(state)
            version += 1
        with contextlib.suppress(msgspec.ValidationError):
            state = msgspec.convert(state, schema.shape)
        return state
