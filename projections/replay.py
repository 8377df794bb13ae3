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
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

from domain.call import Call
from domain.status import TERMINAL
from projections.log import Row
from projections.views import Batch


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


def call_key(originator_id: Any) -> str:
    """The call's id as the views store it: ``str(UUID)``, without building a UUID."""
    if isinstance(originator_id, str) and len(originator_id) == 32:
        h = originator_id.lower()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return str(originator_id)


# How a topic's states are read: a callback or a registration decoded here (fast), a
# registration through the mapper, anything else through the mapper and ``mutate``.
_OTHER, _CALLBACK, _REGISTERED, _REGISTERED_FAST = 0, 1, 2, 3


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

    At most ``maxsize`` calls are kept, oldest first out (flat memory); a call that
    leaves the cache is handed over first, and if met again it is reloaded from the
    store at the version it needs.
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
        self._topics: dict[str, int] = {}  # how each topic's states are read
        self._mapper_only = app.mapper.cipher is not None or app.mapper.compressor is not None
        self.reloads = 0

    def _topic(self, topic: str) -> int:
        known = self._topics.get(topic)
        if known is None:
            cls = resolve_topic(topic)
            fast = (
                not self._mapper_only
                and isinstance(cls, type)
                and getattr(cls, "class_version", 1) == 1
            )
            known = _OTHER
            if isinstance(cls, type) and issubclass(cls, Call.Registered):
                known = _REGISTERED_FAST if fast and cls is Call.Registered else _REGISTERED
            elif fast and issubclass(cls, Call.CallbackEvent):
                known = _CALLBACK
            self._topics[topic] = known
        return known

    def _load(self, key: str, version: int) -> Call:
        self.reloads += 1
        call: object = self.app.repository.get(UUID(key), version=version)
        assert isinstance(call, Call)
        return call

    def _event(self, row: Row) -> Any:
        """The stored event as the application's mapper reads it."""
        stored = StoredEvent(row[1], row[2], row[3], row[4])
        return self.app.mapper.to_domain_event(stored)

    def _registered(self, row: Row, fast: bool) -> Call:
        """A new call from its ``Registered`` state, as ``Event.mutate`` would make it."""
        state = None
        if fast:
            try:
                state = _decode_registered(row[4])
            except msgspec.ValidationError:
                state = None
        if state is None or state.class_version != 1 or state.originator_topic != _CALL_TOPIC:
            created = self._event(row).mutate(None)
            assert isinstance(created, Call)
            return created
        raw = row[1]
        call = object.__new__(Call)
        # ``UUID(int=…)`` skips the parsing ``UUID(hex)`` does: SQLite's ids are plain hex.
        call_id = raw if isinstance(raw, UUID) else UUID(int=int(raw, 16))
        call.__base_init__(call_id, row[2], state.timestamp)
        Call.__init__(call, state.call_uuid)
        return call

    def _written(self, raw_id: Any, version: int, position: int) -> _Folded:
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
        unwritten, ended, topics, decode = (
            self.unwritten,
            self.ended,
            self._topics,
            _decode_callback,
        )
        for row in page:
            position, raw_id, version, topic, stored = row
            kind = topics.get(topic) or self._topic(topic)
            if kind >= _REGISTERED:
                created = self._registered(row, kind == _REGISTERED_FAST)
                self.calls[raw_id] = unwritten[raw_id] = _Folded(
                    created, call_key(raw_id), position
                )
                continue
            known = unwritten.get(raw_id)
            if known is not None and known.version == version - 1:
                folded = known
            else:
                folded = unwritten[raw_id] = self._written(raw_id, version - 1, position)
            folded.last = position
            folded.version = version
            call = folded.call
            state = None
            if kind == _CALLBACK:
                try:
                    state = decode(stored)
                except msgspec.ValidationError:  # a state the default transcoder wrote
                    state = None
            if state is not None and state.class_version == 1:
                # The domain's own fold; what ``Event.mutate`` adds is checks the log's
                # order already guarantees, and the version.
                call.evolve(state)  # type: ignore[arg-type]  # an event's fields
                call.version = version
            else:
                self._fold_event(call, row)
            if call.status in TERMINAL:
                ended[raw_id] = folded
        return self._hand_over(final=False)

    def _fold_event(self, call: Call, row: Row) -> None:
        """Fold a stored event the fast path does not read, through the mapper."""
        event = self._event(row)
        if isinstance(event, Call.CallbackEvent):
            call.evolve(event)
            call.version = row[2]
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


def _add(batch: Batch, folded: _Folded) -> None:
    batch.calls[folded.key] = (folded.call, folded.first, folded.last)
    if folded.before is not None:
        batch.before[folded.key] = folded.before
        folded.before = None
