"""A worker's writer talking to the writer process's loop over a real Unix socket: each
callback answered after its commit, batches reported, a writer gone answered 503 and
reached again once it is back. (``tests/e2e/test_supervision.py`` kills the real one.)"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.status import CallStatus, Verdict
from store.application import CallLog, Recorded, open_call_log
from store.writer import BatchStats, WriterStoppedError
from store.writer_client import ProcessWriter
from store.writer_frames import WriterUnavailableError, listening_socket
from store.writer_process import WriterServer
from tests.e2e.proxy import proxy_to
from tests.factories import outbound
from tests.store.test_application import stored_events


@contextlib.contextmanager
def writer_process(
    log: CallLog, path: str, batches: list[BatchStats] | None = None
) -> Iterator[None]:
    """The writer process's loop on a thread of its own."""
    sock = listening_socket(path)
    server = WriterServer(sock, log, on_batch=None if batches is None else batches.append)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.stop()
        thread.join(10)
        sock.close()


def test_each_callback_is_answered_once_committed(database_url: str, tmp_path: Path) -> None:
    calls = [outbound(CallStatus.BUSY) for _ in range(40)]
    log = open_call_log(database_url)
    path = str(tmp_path / "writer.sock")
    client = ProcessWriter(path)
    batches: list[BatchStats] = []
    client.on_batch = batches.append
    client.start()

    async def deliver() -> list[Recorded]:
        hangups = [spec.callbacks[-1] for spec in calls]
        results = await asyncio.gather(*(client.submit_async(c) for c in hangups))
        return [*results, await client.submit_async(hangups[0])]  # a redelivery

    with writer_process(log, path):
        results = asyncio.run(deliver())
    assert [r.verdict for r in results[:-1]] == [Verdict.ADVANCED] * len(calls)
    assert results[-1] == Recorded(Verdict.DUPLICATE, None)
    assert len({r.position for r in results[:-1]}) == len(calls)
    assert stored_events(log) == 2 * len(calls)  # committed before the answers
    for spec in calls:
        assert log.call(spec.call_uuid).status is CallStatus.BUSY
    assert sum(batch.size for batch in batches) == len(calls) + 1


def test_a_writer_gone_is_503_and_reached_again_when_back(sqlite_url: str, tmp_path: Path) -> None:
    log = open_call_log(sqlite_url)
    path = str(tmp_path / "writer.sock")
    client = ProcessWriter(path)
    client.start()
    first, second, third = (outbound(CallStatus.BUSY).callbacks[-1] for _ in range(3))

    async def deliver() -> None:
        with writer_process(log, path):
            assert (await client.submit_async(first)).verdict is Verdict.ADVANCED
        assert client._reader is not None
        await asyncio.wait_for(client._reader, 10)  # the worker sees the connection end
        with pytest.raises(WriterUnavailableError):
            await client.submit_async(second)  # nobody listens on the socket now
        with writer_process(log, path):
            assert (await client.submit_async(third)).verdict is Verdict.ADVANCED

    asyncio.run(deliver())
    assert stored_events(log) == 4


def test_a_stopped_client_refuses_at_once(sqlite_url: str, tmp_path: Path) -> None:
    client = ProcessWriter(str(tmp_path / "writer.sock"))

    async def deliver() -> Recorded:
        return await client.submit_async(outbound(CallStatus.BUSY).callbacks[-1])

    with pytest.raises(WriterStoppedError):
        asyncio.run(deliver())


@pytest.mark.postgres
def test_a_store_gone_fails_every_waiting_callback_at_once(pg_schema: str, tmp_path: Path) -> None:
    """Once a batch finds the store unreachable, what else waits hears 503 with it,
    instead of each following batch waiting out the same timeouts."""
    with proxy_to("127.0.0.1", 5432) as proxy:
        log = open_call_log(pg_schema.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}"))
        path = str(tmp_path / "writer.sock")
        sock = listening_socket(path)
        batches: list[BatchStats] = []
        server = WriterServer(sock, log, batch_max=4, on_batch=batches.append)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        client = ProcessWriter(path)
        client.start()
        hangups = [outbound(CallStatus.BUSY).callbacks[-1] for _ in range(41)]

        async def deliver() -> list[Recorded | BaseException]:
            await client.submit_async(hangups[0])
            proxy.cut()
            return await asyncio.gather(
                *(client.submit_async(c) for c in hangups[1:]), return_exceptions=True
            )

        try:
            outcomes = asyncio.run(deliver())
        finally:
            server.stop()
            thread.join(30)
            sock.close()
    assert all(isinstance(outcome, WriterUnavailableError) for outcome in outcomes)
    assert len(batches) == 2  # the one that was stored, and the one that found the store gone
