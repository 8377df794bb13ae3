"""A rebuild split by call between processes: each folds and writes its share of the log.

Counters are sums and each call belongs to one share, so the shares add up to the whole.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.utils import get_topic, resolve_topic

from projections.building import NEXT, BuildableView
from projections.log import Part
from projections.rebuild_pass import Progress, UnappliableError, build


def build_in_processes(
    app: Application[UUID],
    views: Sequence[BuildableView],
    end: int,
    workers: int,
    batch_size: int,
    cache_size: int,
    progress: Progress | None,
) -> None:
    """Build the log up to ``end`` in ``workers`` processes, a share of the calls each."""
    context = multiprocessing.get_context("spawn")  # no copied connections or pool threads
    reports: Any = context.Queue()
    spec = (get_topic(type(app)), dict(app.env))
    opened = [_reopener(view) for view in views]
    processes = [
        context.Process(
            target=_worker,
            args=(spec, opened, end, (part, workers), batch_size, cache_size, reports),
            daemon=True,
        )
        for part in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        running = set(range(workers))
        while running:
            try:
                kind, part, value = reports.get(timeout=1.0)
            except queue.Empty:
                # A worker that died without a word (killed) would otherwise be waited on
                # forever.
                if any(not processes[p].is_alive() for p in running):
                    raise RuntimeError("a rebuild worker died") from None
                continue
            if kind == "read" and progress is not None:
                progress(value)
            elif kind == "done":
                running.discard(part)
            elif kind == "unappliable":
                raise UnappliableError(value)
            elif kind == "failed":
                raise RuntimeError(f"rebuild worker {part} failed:\n{value}")
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()


def _reopener(view: BuildableView) -> Callable[[], BuildableView]:
    if view.reopen is None:
        raise ValueError("rebuild workers need views opened by projections.views.open_view")
    return view.reopen


def _worker(
    spec: tuple[str, dict[str, str]],
    opened: list[Callable[[], BuildableView]],
    end: int,
    part: Part,
    batch_size: int,
    cache_size: int,
    reports: Any,
) -> None:
    """One rebuild process: open the log and the views anew, build its share, report."""
    try:
        topic, env = spec
        # The store exists (this process's parent opened it); workers creating its tables
        # at once collide on PostgreSQL ("tuple concurrently updated").
        app: Application[UUID] = resolve_topic(topic)(env=env | {"CREATE_TABLE": "n"})
        views = [open_again() for open_again in opened]
        building = [view.sibling(NEXT) for view in views]

        def report(count: int) -> None:
            reports.put(("read", part[0], count))

        try:
            build(app, building, 0, end, batch_size, cache_size, report, part)
        finally:
            for view in [*building, *views]:
                view.close()
            app.close()
        reports.put(("done", part[0], None))
    except UnappliableError as error:
        reports.put(("unappliable", part[0], str(error)))
    except BaseException:
        reports.put(("failed", part[0], traceback.format_exc()))
        raise
