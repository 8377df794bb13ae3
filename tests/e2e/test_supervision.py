"""``calltrail serve --workers 2`` as an operator sees its processes: the supervisor
SIGKILLed under load leaves nothing serving and a restart on the same port takes over;
the projection runner killed is started again and the views catch up; the writer killed
is started again and every callback acknowledged is stored once. Both stores."""

from __future__ import annotations

import os
import signal
import time
from contextlib import ExitStack

from tests.e2e.procs import alive, children_of, name_of
from tests.e2e.server import free_port, running_server
from tests.e2e.test_faults import (
    WITH_KEYS,
    Background,
    assert_all_delivered,
    simulation,
    stored_events,
    views_equal_a_fresh_rebuild,
)


def gone_within(pids: list[int], seconds: float) -> list[int]:
    """Wait until every one of ``pids`` has exited; those still running after ``seconds``."""
    deadline = time.monotonic() + seconds
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def test_a_killed_supervisor_leaves_no_orphans_and_a_restart_takes_over(
    database_url: str,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    load = Background(lambda **hooks: simulation([url], 160, seed=31, **hooks), (50,))
    with ExitStack() as servers:
        server = servers.enter_context(
            running_server(database_url, port=port, workers=2, extra=WITH_KEYS)
        )
        children = children_of(server.process.pid)
        assert len(children) == 4  # two web workers, the writer and the projection runner
        load.thread.start()
        load.at(50)
        server.kill_supervisor()  # its children must notice by themselves
        assert gone_within(children, 10) == []
        servers.enter_context(running_server(database_url, port=port, workers=2, extra=WITH_KEYS))
        outcome = load.result()
    assert outcome.report.transport_errors > 0  # the kill did land mid-load
    assert_all_delivered(outcome)  # read back through /v1/calls: the views caught up
    assert stored_events(database_url) == sum(len(call.requests) + 1 for call in outcome.calls)
    views_equal_a_fresh_rebuild(database_url)


def test_a_killed_projection_runner_is_started_again_and_the_views_catch_up(
    database_url: str,
) -> None:
    with running_server(database_url, workers=2, extra=WITH_KEYS) as server:
        load = Background(lambda **hooks: simulation([server.url], 60, seed=32, **hooks), (20,))
        [runner] = [p for p in children_of(server.process.pid) if name_of(p) == "projections"]
        load.thread.start()
        load.at(20)
        os.kill(runner, signal.SIGKILL)
        outcome = load.result()
        [again] = [p for p in children_of(server.process.pid) if name_of(p) == "projections"]
        assert again != runner
        assert any("projections (pid" in line and "exited" in line for line in server.log)
    assert_all_delivered(outcome)  # read back through /v1/calls with min_position
    views_equal_a_fresh_rebuild(database_url)


def test_a_killed_writer_is_started_again_and_every_acknowledged_callback_is_stored(
    database_url: str,
) -> None:
    with running_server(database_url, workers=2, extra=WITH_KEYS) as server:
        load = Background(lambda **hooks: simulation([server.url], 60, seed=33, **hooks), (20,))
        [writer] = [p for p in children_of(server.process.pid) if name_of(p) == "writer"]
        load.thread.start()
        load.at(20)
        os.kill(writer, signal.SIGKILL)  # callbacks in flight are answered 503, then retried
        outcome = load.result()
        [again] = [p for p in children_of(server.process.pid) if name_of(p) == "writer"]
        assert again != writer
        assert any("writer (pid" in line and "exited" in line for line in server.log)
    assert_all_delivered(outcome)  # read back through /v1/calls with min_position
    assert stored_events(database_url) == sum(len(call.requests) + 1 for call in outcome.calls)
    views_equal_a_fresh_rebuild(database_url)
