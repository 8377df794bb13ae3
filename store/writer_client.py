"""A web worker's side of the writer process (``store/writer_process.py``): each callback
sent over the Unix socket, its outcome awaited on the worker's event loop."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable

from domain.callbacks import Callback
from domain.status import Verdict
from store.application import Recorded
from store.writer import BatchStats, WriterStoppedError
from store.writer_frames import (
    LENGTH,
    STORE_DOWN,
    Request,
    WriterUnavailableError,
    decode_answer,
    encode,
)


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
        self.waiting += (LENGTH.pack(len(payload)), payload)
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
            (size,) = LENGTH.unpack(await reader.readexactly(4))
            yield await reader.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError):
            return


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
        request = Request(
            request_id,
            callback.kind.value,
            callback.params if type(callback.params) is dict else dict(callback.params),
            callback.received_at,
            callback.fingerprint,
        )
        frames.send(encode(request))
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
            answer = decode_answer(payload)
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
