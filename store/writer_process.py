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
import functools
import itertools
import logging
import os
import socket
import struct
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import msgspec
from eventsourcing.persistence import PersistenceError

from domain.callbacks import Callback, CallbackKind
from domain.status import Verdict
from store.application import ContentionError, Recorded
from store.writer import BatchStats, GroupCommitWriter, WriterStoppedError

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
    """Frames to one peer, written together at the end of the loop's turn."""

    def __init__(self, stream: asyncio.StreamWriter) -> None:
        self.stream = stream
        self.waiting: list[bytes] = []

    def send(self, payload: bytes) -> None:
        if not self.waiting:
            asyncio.get_running_loop().call_soon(self._flush)
        self.waiting += (_LENGTH.pack(len(payload)), payload)

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


async def serve_writes(sock: socket.socket, writer: GroupCommitWriter) -> None:
    """Record what the workers send on ``sock`` with ``writer`` (started), forever."""
    loop = asyncio.get_running_loop()
    peers: set[_Frames] = set()

    def tell_peers(frame: bytes) -> None:
        for peer in peers:
            peer.send(frame)

    def batch_committed(stats: BatchStats) -> None:  # on the writer's thread
        frame = _encode(_Answer(0, None, None, stats.size, stats.seconds))
        loop.call_soon_threadsafe(tell_peers, frame)

    writer.on_batch = batch_committed

    async def serve_worker(reader: asyncio.StreamReader, stream: asyncio.StreamWriter) -> None:
        frames = _Frames(stream)
        peers.add(frames)

        def answer(request_id: int, done: asyncio.Future[Recorded]) -> None:
            error = done.exception()
            if error is None:
                recorded = done.result()
                frames.send(_encode(_Answer(request_id, recorded.verdict.value, recorded.position)))
                return
            if isinstance(error, _STORE_ERRORS):
                problem = STORE_DOWN
            else:
                log.error("recording a callback failed: %r", error)
                problem = type(error).__name__
            frames.send(_encode(_Answer(request_id, None, problem)))

        try:
            async for payload in _received(reader):
                try:
                    request = _requests(payload)
                    callback = Callback(
                        CallbackKind(request.kind),
                        request.params,
                        request.received_at,
                        request.fingerprint,
                    )
                except (msgspec.DecodeError, ValueError) as error:
                    log.error("a worker sent what is not a callback (%s); dropping it", error)
                    break
                future = writer.submit_async(callback)
                future.add_done_callback(functools.partial(answer, request.id))
        finally:
            peers.discard(frames)
            stream.close()

    server = await asyncio.start_unix_server(serve_worker, sock=sock)
    try:
        async with server:
            await server.serve_forever()
    finally:  # the workers see the end at once, and fail what they still wait for
        for peer in list(peers):
            peer.stream.close()


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
            dict(callback.params),
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
