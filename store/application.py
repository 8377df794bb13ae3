"""The event-sourced application that records callbacks on their calls.

Concurrent writers (threads, worker processes, service instances on one PostgreSQL) are
arbitrated by eventsourcing's optimistic concurrency: a save that loses the race raises
``IntegrityError``; the loser reloads the call, decides again and retries.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from domain.call import Call, Received
from domain.ids import call_id
from domain.status import Verdict
from store import compression
from store.persistence import Database, parse_database_url
from store.schema import schema_lock

MAX_ATTEMPTS = 50


class ContentionError(RuntimeError):
    """A callback still lost the race after ``MAX_ATTEMPTS`` reloads (not seen in practice)."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """The outcome of recording one callback: its verdict and, if stored, its log position."""

    verdict: Verdict
    position: int | None


class CallLog(Application[UUID]):
    """Records Plivo callbacks as events on per-call aggregates."""

    name = "CallLog"
    # The repository keeps the calls written last: a call's callbacks arrive within
    # minutes, so most webhooks find their call there instead of replaying its history.
    # No fast-forward of cached calls on every load: a stale cached call can only lack
    # events, so its save loses the race (IntegrityError), and the retry evicts and reloads.
    env = {
        "AGGREGATE_CACHE_MAXSIZE": "20000",
        "AGGREGATE_CACHE_FASTFORWARD": "n",
        "MAPPER_TOPIC": "store.codec:MsgspecMapper",
        # States compressed with a trained dictionary: a store less than half the size;
        # states written before load as they are (``compression.py``).
        "COMPRESSOR_TOPIC": compression.TOPIC,
    }

    def call(self, call_uuid: str) -> Call:
        """The call Plivo names ``call_uuid``; raises ``AggregateNotFoundError`` if unseen."""
        aggregate: object = self.repository.get(call_id(call_uuid))
        assert isinstance(aggregate, Call)
        return aggregate

    def record(self, callback: Received) -> Recorded:
        """Record one callback (or Call API record) durably; a redelivery is acknowledged
        without a new event: the duplicate check is the call's fingerprints."""
        for attempt in range(MAX_ATTEMPTS):
            if attempt >= 3:
                # Many writers on one call: spread the retries out instead of re-colliding.
                time.sleep(random.uniform(0, 0.001 * attempt))  # noqa: S311
            call = self._load_or_register(callback)
            verdict = call.receive(callback)
            if verdict is Verdict.DUPLICATE:
                return Recorded(verdict, None)
            try:
                recordings = self.save(call)
            except IntegrityError:
                self._forget(call.id)
                continue
            return Recorded(verdict, recordings[-1].notification.id)
        raise ContentionError(f"gave up on {callback.call_uuid} after {MAX_ATTEMPTS} races")

    def record_batch(self, callbacks: Sequence[Received]) -> list[Recorded]:
        """Record several callbacks in one transaction (group commit).

        First pass: a call not in the cache is taken to be new, which spares a lookup per
        callback (most webhooks in a batch belong to calls this process already holds, or
        to new ones). If that guess or another writer makes the save fail, nothing was
        written: a second pass loads every call from the store, and if that loses a race
        too, each callback is recorded on its own with reload and retry, so one contended
        call never fails the others.
        """
        for assume_new in (True, False):
            try:
                return self._record_together(callbacks, assume_new)
            except IntegrityError:
                continue
        return [self.record(callback) for callback in callbacks]

    def _record_together(self, callbacks: Sequence[Received], assume_new: bool) -> list[Recorded]:
        calls: dict[str, Call] = {}
        decided: list[tuple[Verdict, object | None]] = []
        for callback in callbacks:
            call = calls.get(callback.call_uuid) or self._load(callback, assume_new)
            calls[callback.call_uuid] = call
            verdict = call.receive(callback)
            event = None if verdict is Verdict.DUPLICATE else call.pending_events[-1]
            decided.append((verdict, event))
        positions = self._save_batch(list(calls.values()))
        return [
            Recorded(verdict, None if event is None else positions[id(event)])
            for verdict, event in decided
        ]

    def _save_batch(self, calls: list[Call]) -> dict[int, int]:
        """Insert the calls' new events in one transaction through the recorder, then cache
        the calls; the log position of each event, by ``id()`` of the event.

        What ``Application.save`` does for these calls, less what this application does not
        use (processing events, snapshots, notification hooks): eventsourcing's mapper and
        recorder write the rows, so the tables and the notification log are its own.
        """
        events = [event for call in calls for event in call.collect_events()]
        to_stored = self.mapper.to_stored_event
        ids = self.recorder.insert_events([to_stored(event) for event in events])
        assert ids is not None, "an application recorder returns the events' positions"
        assert len(ids) == len(events)
        cache = self.repository.cache
        if cache is not None:
            for call in calls:
                cache.put(call.id, call)
        return {id(event): position for event, position in zip(events, ids, strict=True)}

    def _load(self, callback: Received, assume_new: bool) -> Call:
        cache = self.repository.cache
        if assume_new and cache is not None:
            aggregate_id = call_id(callback.call_uuid)
            try:
                cache.get(aggregate_id)
            except KeyError:
                return Call.register(
                    callback.call_uuid, callback.received_at, known_id=aggregate_id
                )
        return self._load_or_register(callback)

    def _forget(self, aggregate_id: UUID) -> None:
        """Drop a cached call that lost a race, so the next load reads the store."""
        if self.repository.cache is not None:
            with contextlib.suppress(KeyError):
                self.repository.cache.get(aggregate_id, evict=True)

    def _load_or_register(self, callback: Received) -> Call:
        try:
            return self.call(callback.call_uuid)
        except AggregateNotFoundError:
            return Call.register(callback.call_uuid, callback.received_at)


def open_call_log(database: Database | str) -> CallLog:
    """The call log on ``database`` (a parsed ``Database`` or a database URL)."""
    if isinstance(database, str):
        database = parse_database_url(database)
    with schema_lock(database):
        return CallLog(env=database.eventsourcing_env("events"))
