"""A rebuild's path through the log: raw stored rows, a decoder typed for just the fields
the fold and the rows read, and the domain's own ``Call.evolve`` per callback.

The live runner goes through eventsourcing's mapper and ``Event.mutate`` (UUIDs, version
checks, an event object per row); a replay of millions of events cannot pay that per
event. Everything this path does not recognise (a state the default transcoder wrote, an
event class it does not know) goes through the mapper and ``mutate`` as before.
"""

from __future__ import annotations

import contextlib
import copy
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from itertools import islice
from typing import Any, NamedTuple
from uuid import UUID

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import get_topic, resolve_topic

from domain.call import Call
from domain.status import TERMINAL
from projections.timeline import encode_params, entry_row
from projections.views import Batch

# One stored event: its log position, and the columns as the recorder gives them (the id
# a UUID, or SQLite's 32 hex digits). A plain tuple: a rebuild makes one per event.
Row = tuple[int, Any, int, str, bytes]  # position, originator_id, version, topic, state


class CallbackState(msgspec.Struct):
    """What ``Call.evolve`` and the timeline entry read of a stored ``Call.CallbackEvent``.

    The time is kept as the stored text: the timeline shows it reformatted (``iso_time``),
    and the fold reads it as a datetime only for a ring (``timestamp``).
    """

    at: str = msgspec.field(name="timestamp")
    kind: str
    params: dict[str, str]
    fingerprint: str
    verdict: str
    status: str | None
    class_version: int = 1

    @property
    def timestamp(self) -> datetime:
        """The event's time, as the typed decoder reads it."""
        return msgspec.convert(self.at, datetime)


class RegisteredState(msgspec.Struct):
    """A stored ``Call.Registered``."""

    timestamp: datetime
    originator_topic: str
    call_uuid: str
    class_version: int = 1


_decode_callback = msgspec.json.Decoder(CallbackState).decode
_decode_registered = msgspec.json.Decoder(RegisteredState).decode
_CALL_TOPIC = get_topic(Call)


def iso_time(stored: str) -> str:
    """``datetime.isoformat(timespec="microseconds")`` of a stored (RFC 3339) time.

    msgspec writes UTC times as ``…T09:00:00Z`` or ``…T09:00:00.123456Z``: those are
    rewritten as text (isoformat is the costliest call of a timeline entry); any other
    form is parsed and formatted.
    """
    if stored[-1:] == "Z":
        if len(stored) == 20:
            return f"{stored[:19]}.000000+00:00"
        if len(stored) == 27 and stored[19] == ".":
            return f"{stored[:26]}+00:00"
    return msgspec.convert(stored, datetime).isoformat(timespec="microseconds")


Part = tuple[int, int]  # (this one, out of how many): a share of the calls


def part_of(originator_id: Any, parts: int) -> int:
    """Which of ``parts`` shares a call is in: its id's last hex digit's code, mod ``parts``
    (a UUID's and SQLite's 32 hex digits end alike; SQLite's reader tests it in SQL)."""
    return ord(str(originator_id)[-1]) % parts


def read_log(
    app: Application[UUID],
    after: int,
    page_size: int,
    until: int | None = None,
    part: Part | None = None,
) -> Iterator[list[Row]]:
    """Pages of the log after position ``after``, up to ``until`` or to its end (events
    appended meanwhile too); only the events of the calls in ``part``, if given."""
    recorder = app.recorder
    if isinstance(recorder, SQLiteApplicationRecorder):
        yield from _read_sqlite(recorder, after, page_size, until, part)
        return
    while page := recorder.select_notifications(start=after + 1, limit=page_size, stop=until):
        rows: list[Row] = [
            (n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in page
        ]
        if part is not None:
            rows = [row for row in rows if part_of(row[1], part[1]) == part[0]]
        if rows:
            yield rows
        after = page[-1].id


def _read_sqlite(
    recorder: SQLiteApplicationRecorder,
    after: int,
    page_size: int,
    until: int | None,
    part: Part | None,
) -> Iterator[list[Row]]:
    # A connection of its own, and a statement per page: no read snapshot is held across
    # pages, so the event store's WAL can be checkpointed while the rebuild runs.
    connection = sqlite3.connect(recorder.datastore.pool.db_name, check_same_thread=False)
    table = recorder.events_table_name  # the recorder's own constant, not input
    query = (
        "SELECT rowid, originator_id, originator_version, topic, state"  # noqa: S608
        f" FROM {table} WHERE rowid > ? AND rowid <= ?"
        " AND unicode(substr(originator_id, -1)) % ? = ? ORDER BY rowid LIMIT ?"
    )
    last = until if until is not None else 2**63 - 1
    share, parts = part if part is not None else (0, 1)
    try:
        while page := connection.execute(query, (after, last, parts, share, page_size)).fetchall():
            yield page
            after = page[-1][0]
    finally:
        connection.close()


def call_key(originator_id: Any) -> str:
    """The call's id as the views store it: ``str(UUID)``, without building a UUID."""
    if isinstance(originator_id, str) and len(originator_id) == 32:
        h = originator_id.lower()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return str(originator_id)


# How a topic's states are read: a callback or a registration decoded here (fast), a
# registration through the mapper, anything else through the mapper and ``mutate``.
_OTHER, _CALLBACK, _REGISTERED, _REGISTERED_FAST = 0, 1, 2, 3


class _Topic(NamedTuple):
    kind: int
    name: str  # the event class's name, as timeline entries show it


class Replay:
    """Folds pages of the log into batches for the views being rebuilt.

    Calls are kept most recently used first, at most ``maxsize`` of them (flat memory);
    a call evicted and met again is reloaded from the store at the version it needs.
    """

    def __init__(
        self,
        app: Application[UUID],
        *,
        with_entries: bool,
        keep_before: bool,
        maxsize: int = 10_000,
    ) -> None:
        self.app = app
        self.with_entries = with_entries
        self.keep_before = keep_before
        self.maxsize = maxsize
        # By the id as the recorder gives it: the call, and its id as the views store it.
        self.calls: dict[Any, tuple[Call, str]] = {}
        self._topics: dict[str, _Topic] = {}
        self._mapper_only = app.mapper.cipher is not None or app.mapper.compressor is not None
        self.reloads = 0

    def _topic(self, topic: str) -> _Topic:
        known = self._topics.get(topic)
        if known is None:
            cls = resolve_topic(topic)
            fast = (
                not self._mapper_only
                and isinstance(cls, type)
                and getattr(cls, "class_version", 1) == 1
            )
            kind = _OTHER
            if isinstance(cls, type) and issubclass(cls, Call.Registered):
                kind = _REGISTERED_FAST if fast and cls is Call.Registered else _REGISTERED
            elif fast and issubclass(cls, Call.CallbackEvent):
                kind = _CALLBACK
            known = self._topics[topic] = _Topic(kind, getattr(cls, "__name__", topic))
        return known

    def _reload(
        self, raw_id: Any, cached: tuple[Call, str] | None, version: int
    ) -> tuple[Call, str]:
        """A call not in the cache (or not at ``version``), read from the store."""
        key = cached[1] if cached is not None else call_key(raw_id)
        return self._load(key, version), key

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
            with contextlib.suppress(msgspec.ValidationError):
                state = _decode_registered(row[4])
        if state is None or state.class_version != 1 or state.originator_topic != _CALL_TOPIC:
            created = self._event(row).mutate(None)
            assert isinstance(created, Call)
            return created
        raw = row[1]
        call = object.__new__(Call)
        call.__base_init__(raw if isinstance(raw, UUID) else UUID(raw), row[2], state.timestamp)
        Call.__init__(call, state.call_uuid)
        return call

    def batch(self, page: list[Row]) -> Batch:  # noqa: PLR0912 - one loop, inlined for speed
        """The page folded: entries, each call's latest state, and (``keep_before``) the
        state before this page of each call that had already ended."""
        batch = Batch(with_entries=self.with_entries)
        entries, touched, before = batch.entries, batch.calls, batch.before
        cache = self.calls
        topics = self._topics
        with_entries, keep_before = self.with_entries, self.keep_before
        encode, decode = encode_params, _decode_callback
        cached: tuple[Call, str] | None
        for row in page:
            position, raw_id, version, topic_name, _ = row
            topic = topics.get(topic_name) or self._topic(topic_name)
            if topic.kind >= _REGISTERED:
                call = self._registered(row, topic.kind == _REGISTERED_FAST)
                key = call_key(raw_id)
                cached = (call, key)
            else:
                cached = cache.pop(raw_id, None)
                if cached is None or cached[0].version != version - 1:
                    cached = self._reload(raw_id, cached, version - 1)
                call, key = cached
                if keep_before and key not in touched and call.status in TERMINAL:
                    before[key] = copy.deepcopy(call)
                event: Any = None
                if topic.kind == _CALLBACK:
                    try:
                        event = decode(row[4])
                    except msgspec.ValidationError:  # a state the default transcoder wrote
                        event = None
                    if event is not None and event.class_version != 1:
                        event = None
                if event is None:
                    event = self._event(row)
                if type(event) is CallbackState:
                    # The domain's own fold; what ``Event.mutate`` adds is checks the log's
                    # order already guarantees, and the version.
                    call.evolve(event)  # type: ignore[arg-type]
                    call.version = version
                    if with_entries:
                        params = event.params
                        entries.append(
                            (
                                position,
                                key,
                                version,
                                iso_time(event.at),
                                event.kind,
                                topic.name,
                                params.get("CallStatus", ""),
                                event.verdict,
                                event.status or "",
                                encode(params).decode(),
                            )
                        )
                elif isinstance(event, Call.CallbackEvent):
                    call.evolve(event)
                    call.version = version
                    if with_entries:
                        entries.append(entry_row(event, position, key, version, topic.name))
                else:
                    event.mutate(call)
            cache[raw_id] = cached
            known = touched.get(key)
            touched[key] = (call, known[1] if known else position, position)
        if len(cache) > self.maxsize:
            for raw_id in list(islice(cache, len(cache) - self.maxsize)):
                del cache[raw_id]
        return batch
