"""One writer process for every web worker of a ``calltrail serve``.

A web worker's event loop and an in-process writer thread share one interpreter lock:
recording a callback (the call's events, their encoding, the insert) held it as long as
the HTTP work did, so a worker could not use a second core. Here each worker sends its
verified callbacks over a Unix socket to a process of its own, which records them with
the group-commit writer (``store/writer.py``) and answers each once the batch holding it
is committed: a worker still replies 2xx only after the commit. One writer also means one
SQLite writer for all the workers (no contention for the write lock) and larger batches.

Frames are msgpack arrays, each after its 4-byte length. A worker sends
``[id, kind, params, received_at, fingerprint]``; the writer answers
``[id, verdict, position]``, or ``[id, null, error]`` when it could not record the
callback (``"store"`` when the store is unavailable: the worker answers 503; anything
else 500), and sends ``[0, null, null, size, seconds]`` to every worker after each
committed batch (the writer's metrics).

The supervisor binds the socket before any child starts, so workers connect, and wait in
its queue, while the writer process starts or restarts. A worker whose connection breaks
fails the callbacks in flight with 503 (Plivo retries them; a retry of one that had been
committed is recognised as a duplicate) and connects again for the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import selectors
import socket
import struct
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import msgspec
from eventsourcing.persistence import PersistenceError

from domain.callbacks import Callback, CallbackKind
from domain.status import Verdict
from store.application import CallLog, ContentionError, Recorded
from store.writer import STORE_OUTAGES, BatchStats, WriterStoppedError, record_each

log = logging.getLogger("calltrail.writer")

_LENGTH = struct.Struct("!I")
STORE_DOWN = "store"
"""The error an answer names when the store is unavailable (the worker answers 503)."""
_STORE_ERRORS = (PersistenceError, ContentionError, WriterStoppedError)


class _Request(msgspec.Struct, array_like=True):
    """A callback a worker sends to be recorded."""

    id: int
    kind: str
    params: dict[str, str]
    received_at: datetime
    fingerprint: str


class _Answer(msgspec.Struct, array_like=True):
    """The writer's answer to a callback (``id``), or the stats of a batch (``id`` 0)."""

    id: int
    verdict: str | None
    position: int | str | None  # the log position; when ``verdict`` is None, the error
    size: int = 0
    seconds: float = 0.0


_encode = msgspec.msgpack.Encoder().encode
_requests = msgspec.msgpack.Decoder(_Request).decode
_answers = msgspec.msgpack.Decoder(_Answer).decode


class WriterUnavailableError(WriterStoppedError):
    """The writer process could not record the callback, or could not be reached (503)."""


def listening_socket(path: str) -> socket.socket:
    """The Unix socket the writer process accepts the workers on, bound at ``path`` (in a
    directory only this user can enter: whoever connects records callbacks unchecked)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.listen(256)
    return sock


class _Frames:
    """A worker's frames to the writer, written together at the end of the loop's turn,
    or as soon as ``FLUSH_AT`` wait: a burst of requests parsed in one turn reaches the
    writer in parts, so it records the first while the worker parses the rest (on two
    workers, 6,240-6,519 requests a second at the turn's end only, 6,624-6,801 so)."""

    FLUSH_AT = 8

    def __init__(self, stream: asyncio.StreamWriter) -> None:
        self.stream = stream
        self.waiting: list[bytes] = []

    def send(self, payload: bytes) -> None:
        if not self.waiting:
            asyncio.get_running_loop().call_soon(self._flush)
        self.waiting += (_LENGTH.pack(len(payload)), payload)
        if len(self.waiting) >= 2 * self.FLUSH_AT:  # two items a frame
            self._flush()

    def _flush(self) -> None:
        if self.waiting and not self.stream.is_closing():
            self.stream.write(b"".join(self.waiting))
        self.waiting = []


async def _received(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    """Each frame's payload, until the connection ends."""
    while True:
        try:
            (size,) = _LENGTH.unpack(await reader.readexactly(4))
            yield await reader.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError):
            return


class _Peer:
    """A worker connected to the writer: what it sent not yet read whole, what it is owed."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.inbox = bytearray()
        self.outbox: list[bytes] = []

    def requests(self, data: bytes) -> list[_Request]:
        """The requests ``data`` completes (``msgspec.DecodeError`` if one is not)."""
        if self.inbox:
            self.inbox += data
            data = bytes(self.inbox)
        view = memoryview(data)  # frames decoded in place, not copied out
        found, start, end = [], 0, len(data)
        while end - start >= 4:
            (size,) = _LENGTH.unpack_from(view, start)
            if end - start - 4 < size:
                break
            found.append(_requests(view[start + 4 : start + 4 + size]))
            start += 4 + size
        self.inbox = bytearray(view[start:])
        return found

    def owe(self, payload: bytes) -> None:
        """Queue a frame for the next ``pay``."""
        self.outbox += (_LENGTH.pack(len(payload)), payload)

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
        waiting: list[tuple[_Peer, _Request]] = []
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
                    self._record(batch)
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

    def _read(self, peer: _Peer) -> list[tuple[_Peer, _Request]]:
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

    def _drop(self, peer: _Peer) -> None:
        if self._peers.pop(peer.sock.fileno(), None) is not None:
            self._selector.unregister(peer.sock)
        peer.sock.close()

    def _record(self, batch: list[tuple[_Peer, _Request]]) -> None:
        started = time.perf_counter()
        callbacks = [
            Callback(CallbackKind(r.kind), r.params, r.received_at, r.fingerprint) for _, r in batch
        ]
        try:
            outcomes = record_each(self.app, callbacks)
        except STORE_OUTAGES as outage:
            outcomes = [(False, outage)] * len(batch)
        for (peer, request), (ok, value) in zip(batch, outcomes, strict=True):
            if ok:
                assert isinstance(value, Recorded)
                peer.owe(_encode(_Answer(request.id, value.verdict.value, value.position)))
            else:
                assert isinstance(value, BaseException)
                peer.owe(_encode(_Answer(request.id, None, _problem(value))))
        stats = BatchStats(len(batch), time.perf_counter() - started)
        frame = _encode(_Answer(0, None, None, stats.size, stats.seconds))
        for peer in list(self._peers.values()):
            peer.owe(frame)
            try:
                peer.pay()
            except OSError:  # gone, or not reading: it fails what it waits for itself
                self._drop(peer)
        if self.on_batch is not None:
            self.on_batch(stats)


def _problem(error: BaseException) -> str:
    """What an answer says of an error: ``STORE_DOWN``, or the error's type."""
    if isinstance(error, _STORE_ERRORS):
        return STORE_DOWN
    log.error("recording a callback failed: %r", error)
    return type(error).__name__


class ProcessWriter:
    """A web worker's writer: sends each callback to the writer process and returns its
    outcome once it is committed. Used from the worker's event loop only."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.on_batch: Callable[[BatchStats], None] | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Recorded]] = {}
        self._frames: _Frames | None = None
        self._connecting: asyncio.Future[_Frames] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._running = False

    def start(self) -> None:
        """Take callbacks (the connection is made on the loop, at the first one)."""
        self._running = True

    def stop(self) -> None:
        """Take no more callbacks; those in flight fail with 503."""
        self._running = False
        if self._frames is not None:
            self._frames.stream.close()
        self._fail_all(WriterStoppedError("the service is stopping"))

    async def submit_async(self, callback: Callback) -> Recorded:
        """Record ``callback`` in the writer process; return once it is committed."""
        if not self._running:
            raise WriterStoppedError("the service is stopping")
        frames = self._frames or await self._connect()
        request_id = next(self._ids)
        future: asyncio.Future[Recorded] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        request = _Request(
            request_id,
            callback.kind.value,
            callback.params if type(callback.params) is dict else dict(callback.params),
            callback.received_at,
            callback.fingerprint,
        )
        frames.send(_encode(request))
        return await future

    async def _connect(self) -> _Frames:
        """The connection to the writer process: one, shared by concurrent first callers."""
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._open())
        connecting = self._connecting
        try:
            return await asyncio.shield(connecting)
        except OSError as error:
            raise WriterUnavailableError(f"the writer process is unreachable: {error}") from None
        finally:
            if self._connecting is connecting and connecting.done():
                self._connecting = None

    async def _open(self) -> _Frames:
        reader, stream = await asyncio.open_unix_connection(self.path)
        frames = _Frames(stream)
        self._frames = frames
        self._reader = asyncio.get_running_loop().create_task(self._read(reader, frames))
        return frames

    async def _read(self, reader: asyncio.StreamReader, frames: _Frames) -> None:
        async for payload in _received(reader):
            answer = _answers(payload)
            if answer.id == 0:
                if self.on_batch is not None:
                    self.on_batch(BatchStats(answer.size, answer.seconds))
                continue
            future = self._pending.pop(answer.id, None)
            if future is None or future.done():  # its client went away
                continue
            if answer.verdict is not None and not isinstance(answer.position, str):
                future.set_result(Recorded(Verdict(answer.verdict), answer.position))
            elif answer.position == STORE_DOWN:
                future.set_exception(WriterUnavailableError("the event store is unavailable"))
            else:
                future.set_exception(RuntimeError(f"the writer process failed: {answer.position}"))
        if self._frames is frames:
            self._frames = None
        frames.stream.close()
        self._fail_all(WriterUnavailableError("the connection to the writer process broke"))

    def _fail_all(self, error: Exception) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(error)
