"""Feeds the event log to the views in batches: many events per view transaction.

eventsourcing's ``ProjectionRunner`` hands a projection one event at a time through a
recorder subscription, and 9.5's SQLite recorder has no subscription at all; a replay of
a million events needs batches. So this runner pulls pages of notifications, folds each
call with the domain's own ``Call`` (no second copy of the rules), and writes each view's
rows with its tracking position in one transaction. It follows new events by polling,
woken early by local commits. A page it cannot apply that way is applied event by event
(``careful.py``): what a view cannot apply is held in its quarantine, and the rest goes on.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification, Tracking
from eventsourcing.sqlite import SQLiteApplicationRecorder

from domain.call import Call
from projections.building import BuildableView
from projections.careful import apply_carefully, touches_held
from projections.log import on_postgres, watch_commits
from projections.quarantine import describe, transient, view_state
from projections.sql import Batch, StalePositionError

log = logging.getLogger("calltrail.projections")

# How often a runner in a process of its own looks for other processes' commits on
# SQLite. Idle, a look costs ~0.15 ms of CPU on a small VM (mostly the timed wait):
# 0.45 % of a core at 50 ms, 1.9 % at 10 ms (docs/operations.md). A read with
# ``min_position`` looks at its view every 100 ms or more, so a shorter interval buys little.
WATCH_SECONDS = 0.05


class CallStates:
    """Calls folded from the log, most recently used kept; a miss is reloaded from the store.

    It earns its place: the runner needs each call's whole state to write its rows, and
    without it every event would reload its call's history from the store.
    """

    def __init__(self, load: Callable[[UUID, int], Call], maxsize: int = 10_000) -> None:
        self.load = load
        self.maxsize = maxsize
        self._calls: OrderedDict[UUID, Call] = OrderedDict()

    def fold(self, event: Any) -> Call:
        """The call as it stands after ``event``."""
        key = event.originator_id
        if isinstance(event, Call.Registered):
            created = event.mutate(None)
            assert isinstance(created, Call)
            call = created
        else:
            cached = self._calls.pop(key, None)
            previous = event.originator_version - 1
            if cached is not None and cached.version == previous:
                call = cached
            else:
                call = self.load(key, previous)
            event.mutate(call)
        self._calls[key] = call
        if len(self._calls) > self.maxsize:
            self._calls.popitem(last=False)
        return call


class ViewRunner:
    """Brings ``views`` up to date with ``app``'s event log, batch by batch."""

    def __init__(
        self, app: Application[UUID], views: Sequence[BuildableView], batch_size: int = 2000
    ) -> None:
        self.app = app
        self.views = list(views)
        self.batch_size = batch_size
        self.states = CallStates(self._load)
        self.wake = threading.Event()
        self.listening = threading.Event()  # set while LISTEN is active (PostgreSQL)

    def _load(self, call_id: UUID, version: int) -> Call:
        call: object = self.app.repository.get(call_id, version=version)
        assert isinstance(call, Call)
        return call

    def close(self) -> None:
        """Close the runner's application and views."""
        self.app.close()
        for view in self.views:
            view.close()

    def positions(self) -> list[int]:
        """Each view's tracking position (0 before the first event)."""
        return [view.position(self.app.name) for view in self.views]

    def run_once(self) -> int:
        """Process one page of events after the slowest view; return how many were read.

        A view whose position moved meanwhile (a rebuild swapped it in, another runner
        wrote it) refuses the page; the page is read again from the new positions.
        """
        for _ in range(10):
            try:
                return self._run_page()
            except StalePositionError as error:
                log.info("view position moved (%s); reading again", error)
        return self._run_page()

    def _run_page(self) -> int:
        """One page: all at once (the fast path), or, if an event of it cannot be applied
        or its call is held, event by event where needed (``careful.py``)."""
        states = [view_state(view, self.app.name) for view in self.views]
        positions = [state.position for state in states]
        page = self.app.recorder.select_notifications(
            start=min(positions) + 1, limit=self.batch_size
        )
        if not page:
            return 0
        if touches_held(page, states):
            return apply_carefully(self.app, self.views, page, self.states.fold)
        try:
            self._apply_page(page, positions)
        except StalePositionError:
            raise
        except Exception as error:
            if transient(error):
                raise
            log.warning(
                "events %d to %d cannot all be applied (%s); applying them one by one",
                page[0].id,
                page[-1].id,
                describe(error),
            )
            return apply_carefully(self.app, self.views, page, self.states.fold)
        return len(page)

    def _apply_page(self, page: Sequence[Notification], positions: list[int]) -> None:
        batches = [Batch() for _ in self.views]
        for notification in page:
            event: Any = self.app.mapper.to_domain_event(notification)
            call = self.states.fold(event)
            key = str(notification.originator_id)
            for batch, position in zip(batches, positions, strict=True):
                if notification.id > position:
                    batch.add(call, notification.id, key)
        tracking = Tracking(self.app.name, page[-1].id)
        for view, batch, position in zip(self.views, batches, positions, strict=True):
            if page[-1].id > position:
                view.apply(batch, tracking, position)

    def catch_up(self, progress: Callable[[int], object] | None = None) -> int:
        """Process pages until the views reach the end of the log; return events read."""
        total = 0
        while read := self.run_once():
            total += read
            if progress is not None:
                progress(read)
        return total

    def follow(self, stop: threading.Event, poll_seconds: float = 0.5, watch: bool = False) -> None:
        """Keep the views up to date until ``stop`` is set.

        Woken by ``wake`` (this process's commits) and, on PostgreSQL, by the NOTIFY the
        event recorder sends with every insert (any process's); with ``watch`` (a runner
        in a process of its own), on SQLite by any process's commit, looked for every
        ``WATCH_SECONDS``; otherwise by polling.
        """
        watcher = None
        if on_postgres(self.app.recorder):
            watcher = threading.Thread(target=self._listen, args=(stop,), name="calltrail-listen")
        elif watch and isinstance(self.app.recorder, SQLiteApplicationRecorder):
            watcher = threading.Thread(
                target=watch_commits,
                args=(self.app.recorder, self.wake, stop, WATCH_SECONDS),
                name="calltrail-watch",
            )
        if watcher is not None:
            watcher.daemon = True
            watcher.start()
        while not stop.is_set():
            try:
                self.catch_up()
            except Exception:
                log.exception("projection update failed; retrying in %.1f s", poll_seconds)
            self.wake.wait(timeout=poll_seconds)
            self.wake.clear()
        if watcher is not None:
            watcher.join()

    def _listen(self, stop: threading.Event) -> None:
        """LISTEN on the event table's channel and wake the runner at each NOTIFY.

        eventsourcing's own subscription reads every notified event; the runner reads
        its pages itself, so it only needs to know that something arrived.
        """
        from eventsourcing.postgres import PostgresApplicationRecorder  # noqa: PLC0415
        from psycopg.sql import SQL, Identifier  # noqa: PLC0415

        recorder = self.app.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        channel = Identifier(recorder.channel_name)
        while not stop.is_set():
            try:
                with recorder.datastore.get_connection() as conn:
                    conn.execute(SQL("LISTEN {0}").format(channel))
                    self.listening.set()
                    self.wake.set()  # anything committed before LISTEN took effect
                    try:
                        while not stop.is_set():
                            for _ in conn.notifies(timeout=0.2, stop_after=1):
                                self.wake.set()
                    finally:
                        self.listening.clear()
                        conn.execute(SQL("UNLISTEN {0}").format(channel))
            except Exception:
                log.warning("LISTEN for new events failed; polling until it is back")
                stop.wait(1.0)


@contextlib.contextmanager
def following(runner: ViewRunner) -> Iterator[None]:
    """Keep ``runner``'s views up to date in a background thread during the block, then
    stop it and close the runner."""
    stop = threading.Event()
    thread = threading.Thread(target=runner.follow, args=(stop,), name="calltrail-views")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        runner.wake.set()
        thread.join()
        runner.close()
