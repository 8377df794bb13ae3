"""The group-commit writer seen from an event loop: futures resolved after the commit."""

from __future__ import annotations

import asyncio

import pytest

from domain.status import CallStatus, Verdict
from store.application import Recorded, open_call_log
from store.writer import GroupCommitWriter, WriterStoppedError
from tests.factories import outbound
from tests.store.test_application import stored_events


def test_coroutines_of_one_loop_each_get_their_own_result(database_url: str) -> None:
    calls = [outbound(CallStatus.BUSY) for _ in range(40)]
    log = open_call_log(database_url)
    writer = GroupCommitWriter(log, batch_max=16, batch_wait=0.002)
    writer.start()

    async def deliver() -> list[Recorded]:
        hangups = [spec.callbacks[-1] for spec in calls]
        return await asyncio.gather(
            *(writer.submit_async(c) for c in [*hangups, hangups[0]]),
        )

    try:
        results = asyncio.run(deliver())
    finally:
        writer.stop()
    assert [r.verdict for r in results[:-1]] == [Verdict.ADVANCED] * len(calls)
    assert results[-1] == Recorded(Verdict.DUPLICATE, None)
    positions = [r.position for r in results[:-1]]
    assert len(set(positions)) == len(calls)  # each its own event
    assert stored_events(log) == 2 * len(calls)  # committed before the futures resolved
    for spec, result in zip(calls, results, strict=False):
        assert log.call(spec.call_uuid).status is CallStatus.BUSY
        assert result.position is not None


def test_a_stopped_writer_fails_the_future_at_once(sqlite_url: str) -> None:
    writer = GroupCommitWriter(open_call_log(sqlite_url))

    async def deliver() -> Recorded:
        return await writer.submit_async(outbound(CallStatus.BUSY).callbacks[-1])

    with pytest.raises(WriterStoppedError):
        asyncio.run(deliver())
