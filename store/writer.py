"""Group commit: one writer thread saves many webhooks in one transaction.

Every webhook request submits its callback and waits on a future; the writer takes what
is queued (up to ``batch_max``, waiting at most ``batch_wait`` seconds to fill a batch),
records the batch in one transaction, and resolves each future only after the commit.
Throughput comes from sharing the commit's fsync, never from weaker durability.

Requests on an event loop (``submit_async``) are resolved together: one
``call_soon_threadsafe`` per batch and loop wakes the loop once, not once per request.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from eventsourcing.persistence import InterfaceError, OperationalError, PersistenceError

from domain.callbacks import Callback
from store.application import CallLog, ContentionError, Recorded

_STOP = object()

Waiter = Future["Recorded"] | asyncio.Future["Recorded"]
"""What a submitter waits on: a thread's future, or a future of its event loop."""
Item = tuple[Callback, Waiter]
Outcome = tuple[bool, "Recorded | BaseException"]  # (ok, result or error)


@dataclass(frozen=True, slots=True)
class BatchStats:
    """One committed batch, for metrics: how many callbacks and how long the commit took."""

    size: int
    seconds: float


class WriterStoppedError(RuntimeError):
    """The writer cannot take the callback (the service is stopping, or its writer process
    is away): the webhook is answered 503 and Plivo retries it."""


class GroupCommitWriter:
    """The single writer of a process; ``submit`` is safe from any thread."""

    def __init__(
        self,
        app: CallLog,
        batch_max: int = 256,
        batch_wait: float = 0.0,
        on_batch: Callable[[BatchStats], None] | None = None,
    ) -> None:
        self.app = app
        self.batch_max = batch_max
        self.batch_wait = batch_wait
        self.on_batch = on_batch
        self._queue: queue.SimpleQueue[Item | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._running = False

    def start(self) -> None:
        """Start the writer thread."""
        self._running = True
        self._thread = threading.Thread(target=self._run, name="calltrail-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish what is queued, then stop the thread."""
        if self._thread is None:
            return
        self._running = False
        self._queue.put(_STOP)
        self._thread.join()
        self._thread = None

    def submit(self, callback: Callback) -> Future[Recorded]:
        """Queue ``callback``; the future resolves once it is committed (or fails)."""
        future: Future[Recorded] = Future()
        if not self._running:
            future.set_exception(WriterStoppedError("the service is stopping"))
            return future
        self._queue.put((callback, future))
        return future

    def submit_async(self, callback: Callback) -> asyncio.Future[Recorded]:
        """``submit`` for a coroutine on the running loop: await the future it returns."""
        future: asyncio.Future[Recorded] = asyncio.get_running_loop().create_future()
        if not self._running:
            future.set_exception(WriterStoppedError("the service is stopping"))
            return future
        self._queue.put((callback, future))
        return future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch, stopping = self._take()
            if batch:
                self._commit(batch)

    def _take(self) -> tuple[list[Item], bool]:
        """Block for one item, then gather what else is queued, up to ``batch_max``."""
        batch: list[Item] = []
        item = self._queue.get()
        deadline = time.monotonic() + self.batch_wait
        while item is not _STOP:
            batch.append(item)  # type: ignore[arg-type]
            if len(batch) >= self.batch_max:
                return batch, False
            try:
                remaining = deadline - time.monotonic()
                if remaining > 0:
                    item = self._queue.get(timeout=remaining)
                else:
                    item = self._queue.get_nowait()
            except queue.Empty:
                return batch, False
        return batch, True

    def _commit(self, batch: list[Item]) -> None:
        started = time.perf_counter()
        try:
            outcomes = record_each(self.app, [callback for callback, _ in batch])
        except STORE_OUTAGES as outage:
            # The store is unreachable: every queued request would wait out the same
            # timeouts one by one, so all of them hear 503 now and Plivo retries later.
            failed = batch + self._drain()
            settle(failed, [(False, outage)] * len(failed))
        else:
            settle(batch, outcomes)
        if self.on_batch is not None:
            self.on_batch(BatchStats(len(batch), time.perf_counter() - started))

    def _drain(self) -> list[Item]:
        """Everything queued right now (a stop marker is put back for the loop to see)."""
        drained: list[Item] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return drained
            if item is _STOP:
                self._queue.put(_STOP)
                return drained
            drained.append(item)  # type: ignore[arg-type]


STORE_OUTAGES = (OperationalError, InterfaceError)
"""What ``record_each`` raises when the store is unreachable."""


STORE_UNAVAILABLE: tuple[type[Exception], ...] = (
    PersistenceError,
    ContentionError,
    WriterStoppedError,
)
"""The errors that mean the callback could not be stored now, not that it is wrong: the
webhook is answered 503 and Plivo retries it."""


def record_each(app: CallLog, callbacks: Sequence[Callback]) -> list[Outcome]:
    """Record ``callbacks`` in one transaction and give each one's outcome; if that fails,
    each on its own, so one bad callback fails only its own request. Raises one of
    ``STORE_OUTAGES`` when the store is unreachable."""
    try:
        results = app.record_batch(callbacks)
    except STORE_OUTAGES:
        raise
    except Exception:
        return [_record_one(app, callback) for callback in callbacks]
    return [(True, result) for result in results]


def _record_one(app: CallLog, callback: Callback) -> Outcome:
    try:
        return True, app.record(callback)
    except Exception as error:
        return False, error


def settle(batch: Sequence[Item], outcomes: Sequence[Outcome]) -> None:
    """Resolve each waiter with its outcome: threads' futures at once, and each event
    loop's futures in one callback on that loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Waiter, Outcome]]] = {}
    for (_, waiter), outcome in zip(batch, outcomes, strict=True):
        if isinstance(waiter, asyncio.Future):
            by_loop.setdefault(waiter.get_loop(), []).append((waiter, outcome))
        else:
            _resolve(waiter, outcome)
    for loop, waiting in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve_all, waiting)
        except RuntimeError:  # the loop has closed: nobody is waiting any more
            continue


def _resolve_all(waiting: list[tuple[Waiter, Outcome]]) -> None:
    for waiter, outcome in waiting:
        _resolve(waiter, outcome)


def _resolve(waiter: Waiter, outcome: Outcome) -> None:
    if waiter.cancelled():  # the client went away; the callback is stored all the same
        return
    ok, value = outcome
    if ok:
        waiter.set_result(value)  # type: ignore[arg-type]
    else:
        waiter.set_exception(value)  # type: ignore[arg-type]


class DirectWriter:
    """No group commit: each callback is saved in its own transaction, on a thread of a
    pool, as an eventsourcing application is used plainly (``CALLTRAIL_GROUP_COMMIT=off``).

    The baseline the group-commit figures are measured against, and a fallback should a
    deployment ever need one transaction per request.
    """

    def __init__(self, app: CallLog, threads: int = 16) -> None:
        self.app = app
        self.threads = threads
        self._pool: ThreadPoolExecutor | None = None

    def start(self) -> None:
        """Start the thread pool."""
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="calltrail-save")

    def stop(self) -> None:
        """Finish what was submitted, then stop the pool."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def submit(self, callback: Callback) -> Future[Recorded]:
        """Save ``callback`` on a pool thread; the future resolves once it is committed."""
        if self._pool is None:
            future: Future[Recorded] = Future()
            future.set_exception(WriterStoppedError("the service is stopping"))
            return future
        return self._pool.submit(self.app.record, callback)

    def submit_async(self, callback: Callback) -> asyncio.Future[Recorded]:
        """``submit`` for a coroutine on the running loop: await the future it returns."""
        return asyncio.wrap_future(self.submit(callback))


class Writer(Protocol):
    """What records callbacks for the webhooks: ``submit_async`` on the event loop, after
    ``start`` and until ``stop``. ``GroupCommitWriter`` and ``DirectWriter`` in process;
    ``store.writer_client.ProcessWriter`` through ``calltrail serve``'s writer process."""

    def start(self) -> None:
        """Begin taking callbacks."""

    def stop(self) -> None:
        """Stop taking callbacks."""

    def submit_async(self, callback: Callback) -> Awaitable[Recorded]:
        """Record ``callback``; the awaitable gives its outcome once it is committed."""
