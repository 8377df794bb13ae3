"""``calltrail serve``'s writer process: it records the callbacks of every web worker.

A web worker's event loop and an in-process writer thread share one interpreter lock:
recording a callback (the call's events, their encoding, the insert) held it as long as
the HTTP work did, so a worker could not use a second core. Here each worker sends its
verified callbacks over a Unix socket (``store/writer_frames.py``,
``store/writer_client.py``) to a process of its own, which records them in group commits
(``store.writer.record_each``) and answers each once the batch holding it is committed:
a worker still replies 2xx only after the commit. One writer also means one SQLite
writer for all the workers (no contention for the write lock) and larger batches.

The supervisor binds the socket before any child starts, so workers connect, and wait in
its queue, while the writer process starts or restarts. A worker whose connection breaks
fails the callbacks in flight with 503 (Plivo retries them; a retry of one that had been
committed is recognised as a duplicate) and connects again for the next one.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import time
from collections.abc import Callable, Sequence

import msgspec

from domain.callbacks import Callback, CallbackKind
from store.application import CallLog, Recorded
from store.writer import STORE_OUTAGES, STORE_UNAVAILABLE, BatchStats, Outcome, record_each
from store.writer_frames import LENGTH, STORE_DOWN, Answer, Request, decode_request, encode

log = logging.getLogger("calltrail.writer")


class _Peer:
    """A worker connected to the writer: what it sent not yet read whole, what it is owed."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.inbox = bytearray()
        self.outbox: list[bytes] = []

    def requests(self, data: bytes) -> list[Request]:
        """The requests ``data`` completes (``msgspec.DecodeError`` if one is not)."""
        if self.inbox:
            self.inbox += data
            data = bytes(self.inbox)
        view = memoryview(data)  # frames decoded in place, not copied out
        found, start, end = [], 0, len(data)
        while end - start >= 4:
            (size,) = LENGTH.unpack_from(view, start)
            if end - start - 4 < size:
                break
            found.append(decode_request(view[start + 4 : start + 4 + size]))
            start += 4 + size
        self.inbox = bytearray(view[start:])
        return found

    def owe(self, payload: bytes) -> None:
        """Queue a frame for the next ``pay``."""
        self.outbox += (LENGTH.pack(len(payload)), payload)

    def pay(self) -> None:
        """Send what it is owed; ``OSError`` if the worker is gone or stopped reading."""
        if self.outbox:
            data, self.outbox = b"".join(self.outbox), []
            self.sock.sendall(data)


class WriterServer:
    """The writer process's loop, on one thread: read every callback the workers have
    sent (waiting up to ``batch_wait`` seconds after the first for more), record them (up
    to ``batch_max``) in one transaction, answer each, repeat.

    One thread and no event loop: reading, recording and answering never wait for each
    other's hand-offs, and what arrives during a commit waits in the sockets for the next
    batch. ``stop`` (from a signal handler or another thread) ends ``run`` after the
    batch in hand; a worker fails (503) what it sent and was not answered.
    """

    SEND_TIMEOUT = 10.0  # a worker that reads nothing for this long is dropped

    def __init__(
        self,
        sock: socket.socket,
        app: CallLog,
        batch_max: int = 256,
        batch_wait: float = 0.0,
        on_batch: Callable[[BatchStats], None] | None = None,
    ) -> None:
        self.sock = sock
        self.app = app
        self.batch_max = batch_max
        self.batch_wait = batch_wait
        self.on_batch = on_batch
        self._stopping = False
        self._wake, self._waker = socket.socketpair()
        self._waker.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._peers: dict[int, _Peer] = {}

    def stop(self) -> None:
        """End ``run`` after the batch in hand (safe in a signal handler)."""
        self._stopping = True
        with contextlib.suppress(OSError):  # a wake-up already waiting is enough
            self._waker.send(b"x")

    def run(self) -> None:
        """Serve the workers until ``stop``."""
        self._selector.register(self.sock, selectors.EVENT_READ)
        self._selector.register(self._wake, selectors.EVENT_READ)
        waiting: list[tuple[_Peer, Request]] = []
        due = 0.0  # when to record what is waiting, if the batch is not full before
        try:
            while not self._stopping:
                timeout = None if not waiting else max(0.0, due - time.monotonic())
                for key, _ in self._selector.select(timeout):
                    if key.fileobj is self.sock:
                        self._accept()
                    elif key.fileobj is self._wake:
                        self._wake.recv(4096)
                    else:
                        if not waiting:
                            due = time.monotonic() + self.batch_wait
                        waiting += self._read(self._peers[key.fd])
                if waiting and (len(waiting) >= self.batch_max or time.monotonic() >= due):
                    batch, waiting = waiting[: self.batch_max], waiting[self.batch_max :]
                    outage = self._record(batch)
                    if outage is not None:
                        # The store is unreachable: what waits would wait out the same
                        # timeouts batch after batch, so all of it hears 503 now.
                        rest, waiting = waiting + self._readable(), []
                        self._answer(rest, [(False, outage)] * len(rest))
                    due = time.monotonic() + self.batch_wait
        finally:
            for peer in list(self._peers.values()):
                self._drop(peer)
            self._selector.close()
            self._wake.close()
            self._waker.close()

    def _accept(self) -> None:
        conn, _ = self.sock.accept()
        conn.settimeout(self.SEND_TIMEOUT)
        self._peers[conn.fileno()] = _Peer(conn)
        self._selector.register(conn, selectors.EVENT_READ)

    def _read(self, peer: _Peer) -> list[tuple[_Peer, Request]]:
        try:
            data = peer.sock.recv(1 << 18)
            if data:
                return [(peer, request) for request in peer.requests(data)]
        except OSError:
            pass
        except (msgspec.DecodeError, ValueError) as error:
            log.error("a worker sent what is not a callback (%s); dropping it", error)
        self._drop(peer)
        return []

    def _readable(self) -> list[tuple[_Peer, Request]]:
        """What the workers have sent and is read without waiting."""
        found: list[tuple[_Peer, Request]] = []
        for key, _ in self._selector.select(0):
            peer = self._peers.get(key.fd)
            if peer is not None:  # the listening socket and the wake-up wait for the loop
                found += self._read(peer)
        return found

    def _drop(self, peer: _Peer) -> None:
        if self._peers.pop(peer.sock.fileno(), None) is not None:
            self._selector.unregister(peer.sock)
        peer.sock.close()

    def _record(self, batch: list[tuple[_Peer, Request]]) -> BaseException | None:
        """Record ``batch`` in one transaction and answer it; the error if the store is
        unreachable."""
        started = time.perf_counter()
        callbacks = [
            Callback(CallbackKind(r.kind), r.params, r.received_at, r.fingerprint) for _, r in batch
        ]
        outage = None
        try:
            outcomes = record_each(self.app, callbacks)
        except STORE_OUTAGES as error:
            outage = error
            outcomes = [(False, outage)] * len(batch)
        self._answer(batch, outcomes, BatchStats(len(batch), time.perf_counter() - started))
        return outage

    def _answer(
        self,
        items: list[tuple[_Peer, Request]],
        outcomes: Sequence[Outcome],
        stats: BatchStats | None = None,
    ) -> None:
        """Send each request's outcome (and a committed batch's stats) to the workers."""
        for (peer, request), (ok, value) in zip(items, outcomes, strict=True):
            if ok:
                assert isinstance(value, Recorded)
                peer.owe(encode(Answer(request.id, value.verdict.value, value.position)))
            else:
                assert isinstance(value, BaseException)
                peer.owe(encode(Answer(request.id, None, _problem(value))))
        if stats is not None:
            frame = encode(Answer(0, None, None, stats.size, stats.seconds))
            for peer in self._peers.values():
                peer.owe(frame)
        for peer in list(self._peers.values()):
            try:
                peer.pay()
            except OSError:  # gone, or not reading: it fails what it waits for itself
                self._drop(peer)
        if stats is not None and self.on_batch is not None:
            self.on_batch(stats)


def _problem(error: BaseException) -> str:
    """What an answer says of an error: ``STORE_DOWN``, or the error's type."""
    if isinstance(error, STORE_UNAVAILABLE):
        return STORE_DOWN
    log.error("recording a callback failed: %r", error)
    return type(error).__name__
