"""A rebuild's fold of the log: raw stored rows, a decoder typed for just the fields the
fold reads, the domain's own ``Call.evolve`` per callback, and each call written once.

The live runner goes through eventsourcing's mapper and ``Event.mutate`` (UUIDs, version
checks, an event object per row); a replay of millions of events cannot pay that per
event. Everything this path does not recognise (a state the default transcoder wrote, an
event class it does not know) goes through the mapper and ``mutate`` as before.

A call's callbacks are spread over minutes of the log, between other calls'. The replay
hands a call to the views once it has ended (or when it leaves the cache, or at the end),
not at every page it appears in: most calls are written once.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

from domain.call import Call
from domain.status import TERMINAL
from projections.log import Row, call_key
from projections.sql import Batch


class CallbackState(msgspec.Struct):
    """What ``Call.evolve`` reads of a stored ``Call.CallbackEvent``."""

    timestamp: datetime
    kind: str
    params: dict[str, str]
    fingerprint: str
    verdict: str
    status: str | None
    class_version: int = 1


class RegisteredState(msgspec.Struct):
    """A stored ``Call.Registered``."""

    timestamp: datetime
    originator_topic: str
    call_uuid: str
    class_version: int = 1


_decode_callback = msgspec.json.Decoder(CallbackState).decode
_decode_registered = msgspec.json.Decoder(RegisteredState).decode
_CALL_TOPIC = get_topic(Call)


class Reading(Enum):
    """How a topic's stored states are read."""

    CALLBACK = "a callback event, decoded here"
    REGISTRATION = "a registration, decoded here"
    MAPPED_REGISTRATION = "a registration, through the mapper"
    MAPPED = "anything else, through the mapper and the event's mutate"


class _Folded:
    """A call being replayed, and what the views need to write it."""

    __slots__ = ("before", "call", "first", "key", "last", "version")

    def __init__(self, call: Call, key: str, first: int) -> None:
        self.call = call
        self.key = key
        self.first = first  # its first event since it was last handed to the views
        self.last = first
        # The call's version, kept here too: ``Aggregate.version`` is a property, a
        # function call for every event read.
        self.version: int = call.version
        self.before: Call | None = None  # as last handed over, if it had ended then


class Replay:
    """Folds pages of the log into batches of calls for the views being rebuilt.

    Its cache of calls (``calls``) earns its place: a call's callbacks are spread over
    minutes of the log, and each one needs the call as folded so far. At most ``maxsize``
    calls are kept, oldest first out (flat memory); a call that leaves the cache is handed
    over first, and if met again it is reloaded from the store at the version it needs.
    """

    def __init__(self, app: Application[UUID], *, keep_before: bool, maxsize: int = 10_000):
        self.app = app
        self.keep_before = keep_before
        self.maxsize = maxsize
        # By the id as the recorder gives it, oldest first: an OrderedDict, as a dict whose
        # oldest entries are deleted again and again is slow to walk from the start.
        self.calls: OrderedDict[Any, _Folded] = OrderedDict()
        self.unwritten: dict[Any, _Folded] = {}  # folded since last handed over
        self.ended: dict[Any, _Folded] = {}  # unwritten calls that have ended
        self._readings: dict[str, Reading] = {}  # how each topic's states are read
        self._mapper_only = app.mapper.cipher is not None
        # Compressed states are decompressed here for the fast path; the mapper's paths
        # are given them as stored (the mapper decompresses).
        compressor = app.mapper.compressor
        self._decompress = None if compressor is None else compressor.decompress
        self.reloads = 0

    def _reading(self, topic: str) -> Reading:
        reading = self._readings.get(topic)
        if reading is None:
            reading = self._readings[topic] = self._reading_of(resolve_topic(topic))
        return reading

    def _reading_of(self, cls: object) -> Reading:
        if not isinstance(cls, type):
            return Reading.MAPPED
        # Only states of the classes' current version are decoded here; older ones need
        # the mapper's upcasting.
        fast = not self._mapper_only and getattr(cls, "class_version", 1) == 1
        if issubclass(cls, Call.Registered):
            return Reading.REGISTRATION if fast and cls is Call.Registered else _MAPPED_REG
        if fast and issubclass(cls, Call.CallbackEvent):
            return Reading.CALLBACK
        return Reading.MAPPED

    def _load(self, key: str, version: int) -> Call:
        self.reloads += 1
        call: object = self.app.repository.get(UUID(key), version=version)
        assert isinstance(call, Call)
        return call

    def _event(self, raw_id: Any, version: int, topic: str, stored: bytes) -> Any:
        """The stored event as the application's mapper reads it."""
        return self.app.mapper.to_domain_event(StoredEvent(raw_id, version, topic, stored))

    def _plain(self, stored: bytes) -> bytes | None:
        """A stored state's JSON; ``None`` if it does not decompress (the mapper's path
        then says why, as for any state it cannot read)."""
        if self._decompress is None:
            return stored
        try:
            return self._decompress(stored)
        except Exception:  # any compressor's own error: the mapper's path reports it
            return None

    def _registered(self, raw_id: Any, version: int, topic: str, stored: bytes) -> Call:
        """A new call from its ``Registered`` state, as ``Event.mutate`` would make it."""
        state = None
        plain = self._plain(stored)
        if self._readings[topic] is Reading.REGISTRATION and plain is not None:
            try:
                state = _decode_registered(plain)
            except msgspec.ValidationError:
                state = None
        if state is None or state.class_version != 1 or state.originator_topic != _CALL_TOPIC:
            created = self._event(raw_id, version, topic, stored).mutate(None)
            assert isinstance(created, Call)
            return created
        # ``UUID(int=…)`` skips the parsing ``UUID(hex)`` does: SQLite's ids are plain hex.
        call_id = raw_id if isinstance(raw_id, UUID) else UUID(int=int(raw_id, 16))
        return Call.restored(call_id, version, state.timestamp, state.call_uuid)

    def _resume(self, raw_id: Any, version: int, position: int) -> _Folded:
        """A call the views hold as it stood at ``version``, ready to take its next event:
        from the cache, or reloaded from the store."""
        folded = self.calls.get(raw_id)
        if folded is None or folded.version != version:
            key = folded.key if folded is not None else call_key(raw_id)
            folded = self.calls[raw_id] = _Folded(self._load(key, version), key, position)
        else:
            folded.first = position
        if self.keep_before and folded.call.status in TERMINAL:
            folded.before = copy.deepcopy(folded.call)  # its contribution, to take back
        return folded

    def batch(self, page: list[Row]) -> Batch:
        """Fold a page; return the calls to write now: those that have ended, and those
        that left the cache."""
        unwritten, ended, readings = self.unwritten, self.ended, self._readings
        plain_states = self._decompress is None
        for position, raw_id, version, topic, stored in page:
            reading = readings.get(topic) or self._reading(topic)
            if reading is _REGISTRATION or reading is _MAPPED_REG:
                created = self._registered(raw_id, version, topic, stored)
                self.calls[raw_id] = unwritten[raw_id] = _Folded(
                    created, call_key(raw_id), position
                )
                continue
            folded = unwritten.get(raw_id)
            if folded is None or folded.version != version - 1:
                folded = unwritten[raw_id] = self._resume(raw_id, version - 1, position)
            folded.last = position
            folded.version = version
            call = folded.call
            plain = stored if plain_states or reading is not _CALLBACK else self._plain(stored)
            if plain is None or reading is not _CALLBACK or not _fold_decoded(call, version, plain):
                self._fold_mapped(call, raw_id, version, topic, stored)
            if call.status in TERMINAL:
                ended[raw_id] = folded
        return self._hand_over(final=False)

    def _fold_mapped(
        self, call: Call, raw_id: Any, version: int, topic: str, stored: bytes
    ) -> None:
        """Fold a stored event the fast path does not read, through the mapper."""
        event = self._event(raw_id, version, topic, stored)
        if isinstance(event, Call.CallbackEvent):
            call.evolve(event)
            call.version = version
        else:
            event.mutate(call)

    def rest(self) -> Batch:
        """Every call folded and not written yet: the replay's last batch."""
        return self._hand_over(final=True)

    def _hand_over(self, *, final: bool) -> Batch:
        batch = Batch()
        unwritten, ended = self.unwritten, self.ended
        for _ in range(len(self.calls) - self.maxsize):
            raw_id, folded = self.calls.popitem(last=False)
            if unwritten.pop(raw_id, None) is not None:
                _add(batch, folded)
        for raw_id, folded in list((unwritten if final else ended).items()):
            if unwritten.pop(raw_id, None) is not None:
                _add(batch, folded)
        ended.clear()
        return batch


# Module constants: an enum class's attribute costs a lookup and a call per event.
_CALLBACK, _REGISTRATION = Reading.CALLBACK, Reading.REGISTRATION
_MAPPED_REG = Reading.MAPPED_REGISTRATION


def _fold_decoded(call: Call, version: int, stored: bytes) -> bool:
    """Fold a callback event decoded here with the domain's own ``Call.evolve``; False if
    the state is not one this decoder reads (the default transcoder wrote it)."""
    try:
        state = _decode_callback(stored)
    except msgspec.ValidationError:
        return False
    if state.class_version != 1:
        return False
    # What ``Event.mutate`` adds to ``evolve`` is checks that the log's order already
    # guarantees, and the version.
    call.evolve(state)
    call.version = version
    return True


def _add(batch: Batch, folded: _Folded) -> None:
    batch.calls[folded.key] = (folded.call, folded.first, folded.last)
    if folded.before is not None:
        batch.before[folded.key] = folded.before
        folded.before = None
