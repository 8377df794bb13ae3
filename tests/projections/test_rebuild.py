"""``rebuild``: views built beside the live ones and swapped in, on each store."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import Tracking

from domain.ids import call_id
from domain.status import CallStatus
from projections.rebuild import rebuild_views
from projections.rebuild_pass import MAX_PENDING
from projections.replay import Replay
from projections.runner import ViewRunner
from projections.sqlite import SQLiteTimelineView
from service.bootstrap import projection_runner
from service.settings import Settings
from store.application import CallLog, open_call_log
from store.persistence import parse_database_url
from tests.factories import CallSpec, outbound
from tests.projections.conftest import Views
from tests.projections.test_views import mixed_calls, record_shuffled, unfinished_calls

Runner = Callable[[], ViewRunner]
Dumps = list[dict[str, list[tuple[Any, ...]]]]


class StoppedError(Exception):
    """Stands for a rebuild stopped midway (Ctrl-C, a lost connection)."""


def dumps(views: list[Any]) -> Dumps:
    return [view.dump() for view in views]


def fresh_rebuild(runner: Runner) -> tuple[Dumps, list[int]]:
    """The views and positions a rebuild of the whole log makes, one event per batch."""
    fresh = runner()
    rebuild_views(fresh.app, fresh.views, batch_size=1)  # one event per batch
    return dumps(fresh.views), fresh.positions()


def test_a_reader_sees_the_old_view_during_the_rebuild_and_the_new_one_after(
    call_log: CallLog, runner: Runner, open_views: Views
) -> None:
    specs = mixed_calls(seed=21)
    record_shuffled(call_log, specs[:5])
    runner().catch_up()
    readers = open_views()  # opened, and read once, before the rebuild
    old = dumps(readers)
    assert old[0]["calls"]
    record_shuffled(call_log, specs[5:])  # the live views have not seen these yet
    seen_during: list[Dumps] = []
    rebuilding = runner()
    rebuild_views(
        rebuilding.app,
        rebuilding.views,
        batch_size=7,
        progress=lambda _: seen_during.append(dumps(readers)),
    )
    assert len(seen_during) > 3
    assert all(seen == old for seen in seen_during)
    after = dumps(readers)
    assert after != old
    live = runner()
    live.catch_up()  # nothing left to project: the new views are complete
    assert dumps(live.views) == after
    assert [reader.position("CallLog") for reader in readers] == [
        call_log.recorder.max_notification_id()
    ] * 2


def test_a_runner_writing_during_the_rebuild_carries_on_from_the_new_views_exactly_once(
    call_log: CallLog, runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = mixed_calls(seed=23)
    late = [outbound(CallStatus.COMPLETED, losers=1) for _ in range(2)]  # one per swap
    record_shuffled(call_log, specs[:4])
    live = runner()
    live.batch_size = 3
    live.catch_up()
    pending = [c for spec in specs[4:] for c in spec.callbacks]
    random.Random(1).shuffle(pending)

    def project_some(_: int) -> None:
        # Meanwhile the service records callbacks, and its runner projects them into the
        # old tables, falling behind the rebuild's read.
        for callback in pending[:4]:
            call_log.record(callback)
        if pending:
            del pending[:4]
            live.run_once()

    behind_and_ahead: list[tuple[int, int]] = []

    def swap_under_a_runner(view: Any) -> None:
        # The runner reads its positions before the swap and writes after it. At the
        # first swap (timeline) it is behind the rebuild: without the check it would
        # write rows the new view already has. At the second (metrics) it is ahead:
        # it would skip events the new view lacks.
        target: Any = next(v for v in live.views if type(v) is type(view))
        if behind_and_ahead:
            live.catch_up()
        for callback in late[len(behind_and_ahead)].callbacks:
            call_log.record(callback)
        real_advance = target.move_tracking

        def advance(cursor: Any, tracking: Tracking, after: int) -> None:
            target.move_tracking = real_advance
            real_swaps[type(view)](view)
            behind_and_ahead.append((after, target.position("CallLog")))
            real_advance(cursor, tracking, after)

        target.move_tracking = advance
        live.run_once()
        assert target.move_tracking == real_advance  # the swap did happen mid-write

    real_swaps = {type(view): type(view).swap for view in live.views}
    for cls in real_swaps:
        monkeypatch.setattr(cls, "swap", swap_under_a_runner)
    rebuilding = runner()
    rebuild_views(rebuilding.app, rebuilding.views, batch_size=4, progress=project_some)
    monkeypatch.undo()
    (behind, built), (ahead, built_too) = behind_and_ahead
    assert behind < built == built_too < ahead
    for callback in pending:
        call_log.record(callback)
    live.catch_up()
    after = dumps(live.views)
    positions = live.positions()
    assert positions == [call_log.recorder.max_notification_id()] * 2
    assert (after, positions) == fresh_rebuild(runner)
    calls = {row[0] for row in after[0]["calls"]}
    assert calls == {str(call_id(spec.call_uuid)) for spec in specs + late}


def assert_old_view_kept_then_rerun_succeeds(live: Any, old: Dumps, runner: Runner) -> None:
    """After a failed rebuild: the old view is untouched, still projects, and a re-run
    of the rebuild gives what a fresh rebuild gives."""
    assert dumps(live.views) == old
    live.catch_up()  # the old view is still the live one, and still projects
    expected = fresh_rebuild(runner)
    assert (dumps(live.views), live.positions()) == expected
    again = runner()
    rebuild_views(again.app, again.views, batch_size=5)
    assert (dumps(again.views), again.positions()) == expected


def interrupt_after_pages(pages: int) -> Callable[[int], None]:
    count = [0]

    def progress(_: int) -> None:
        count[0] += 1
        if count[0] == pages:
            raise StoppedError

    return progress


def test_an_interrupted_rebuild_leaves_the_old_view_usable_and_a_rerun_succeeds(
    call_log: CallLog, runner: Runner
) -> None:
    specs = mixed_calls(seed=29)
    record_shuffled(call_log, specs[:5])
    live = runner()
    live.catch_up()
    old = dumps(live.views)
    record_shuffled(call_log, specs[5:])
    stopped = runner()
    with pytest.raises(StoppedError):
        rebuild_views(stopped.app, stopped.views, batch_size=5, progress=interrupt_after_pages(2))
    assert_old_view_kept_then_rerun_succeeds(live, old, runner)


def test_a_rebuild_killed_midway_leaves_the_old_view_and_a_rerun_succeeds(
    database_url: str, call_log: CallLog, runner: Runner
) -> None:
    record_shuffled(call_log, mixed_calls(seed=31))
    live = runner()
    live.batch_size = 10
    live.run_once()
    old = dumps(live.views)
    # A real process, killed without cleanup or rollback after writing some pages.
    script = textwrap.dedent(
        f"""
        import os
        from service.bootstrap import projection_runner
        from service.settings import Settings
        from projections.rebuild import rebuild_views
        from projections.rebuild_pass import MAX_PENDING
        settings = Settings.from_env({{"CALLTRAIL_DATABASE_URL": {database_url!r}}})
        runner = projection_runner(settings)
        pages = []
        def progress(count):
            pages.append(count)
            if len(pages) == 2:
                os._exit(9)
        rebuild_views(runner.app, runner.views, batch_size=5, progress=progress)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], check=False, timeout=120)
    assert done.returncode == 9
    assert_old_view_kept_then_rerun_succeeds(live, old, runner)


def test_repeated_rebuilds_and_restarts_keep_one_set_of_indexes(
    database_url: str, call_log: CallLog, runner: Runner
) -> None:
    record_shuffled(call_log, mixed_calls(seed=37))
    runner().catch_up()
    first = indexes(database_url)
    for _ in range(3):
        # Each round as its own process would: open, rebuild, close; then a restart
        # creates what is missing, and nothing twice.
        rebuilding = projection_runner(Settings.from_env({"CALLTRAIL_DATABASE_URL": database_url}))
        rebuild_views(rebuilding.app, rebuilding.views)
        rebuilding.close()
        restarted = projection_runner(Settings.from_env({"CALLTRAIL_DATABASE_URL": database_url}))
        positions = restarted.positions()
        restarted.close()
        now = indexes(database_url)
        assert sorted(what for _, what in now) == sorted(what for _, what in first)
        assert positions == [call_log.recorder.max_notification_id()] * 2
    if database_url.startswith("postgres"):
        assert now == first  # renamed back to their first names


def indexes(database_url: str) -> list[tuple[str, str]]:
    """Each index of the views' tables: its name, and its table, uniqueness and columns."""
    database = parse_database_url(database_url)
    found: list[tuple[str, str]] = []
    if database.kind == "sqlite":
        for purpose in ("timeline", "metrics"):
            with sqlite3.connect(database.sqlite_file(purpose)) as conn:
                tables = conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")
                for (table,) in tables.fetchall():
                    for _, name, unique, *_ in conn.execute(f"PRAGMA index_list({table})"):
                        info = conn.execute(f"PRAGMA index_info({name})").fetchall()
                        columns = ",".join(str(column[2]) for column in info)
                        found.append((name, f"{purpose}.{table} {unique} ({columns})"))
        return sorted(found)
    with psycopg.connect(database_url.split("?", maxsplit=1)[0]) as conn:
        rows = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s",
            (database.schema,),
        ).fetchall()
    return sorted((name, definition.split(" USING ")[-1]) for name, definition in rows)


def tables(database_url: str) -> list[str]:
    """The names of the views' tables (SQLite: in both files; PostgreSQL: the schema's)."""
    database = parse_database_url(database_url)
    if database.kind == "sqlite":
        found = []
        for purpose in ("timeline", "metrics"):
            with sqlite3.connect(database.sqlite_file(purpose)) as conn:
                names = conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")
                found += [f"{purpose}.{name}" for (name,) in names.fetchall()]
        return sorted(found)
    with psycopg.connect(database_url.split("?", maxsplit=1)[0]) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (database.schema,)
        ).fetchall()
    return sorted(name for (name,) in rows)


def test_a_rebuild_drops_the_entries_table_of_earlier_versions(
    database_url: str, call_log: CallLog, runner: Runner
) -> None:
    record_shuffled(call_log, mixed_calls(seed=61))
    live = runner()
    live.catch_up()
    timeline = live.views[0]
    # What an earlier version kept: a copy of every callback, and its rebuild's leftover.
    with timeline.transaction(commit=True) as cursor:
        for name in ("entries", "entries_next"):
            cursor.execute(timeline.sql(f"CREATE TABLE {{p}}{name} (position BIGINT)"))
    before = tables(database_url)
    assert sum("entries" in name for name in before) == 2
    rebuilding = runner()
    rebuild_views(rebuilding.app, rebuilding.views)
    after = tables(database_url)
    assert [name for name in after if "entries" in name] == []
    assert sorted(set(before) - set(after)) == [n for n in before if "entries" in n]
    assert (dumps(rebuilding.views), rebuilding.positions()) == fresh_rebuild(runner)


def test_a_rebuild_replays_states_the_default_transcoder_wrote_and_reloads_evicted_calls(
    database_url: str, runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = parse_database_url(database_url)
    legacy = CallLog(env=database.eventsourcing_env("events") | {"MAPPER_TOPIC": ""})
    current = open_call_log(database_url)
    try:
        specs: list[CallSpec] = mixed_calls(seed=41)
        callbacks = [c for spec in specs for c in spec.callbacks]
        random.Random(2).shuffle(callbacks)
        for i, callback in enumerate(callbacks):
            (legacy if i % 2 else current).record(callback)
        live = runner()
        live.catch_up()  # through eventsourcing's mapper, event by event
        reloads: list[str] = []
        real_load = Replay._load

        def load(replay: Replay, key: str, version: int) -> Any:
            reloads.append(key)
            return real_load(replay, key, version)

        monkeypatch.setattr(Replay, "_load", load)
        small = runner()
        rebuild_views(small.app, small.views, batch_size=3, cache_size=2)
        assert (dumps(small.views), small.positions()) == (dumps(live.views), live.positions())
        assert reloads
    finally:
        legacy.close()
        current.close()


def test_a_rebuild_shared_between_processes_equals_one_in_a_single_process(
    call_log: CallLog, runner: Runner
) -> None:
    specs = [outbound(status, losers=1) for status in (CallStatus.COMPLETED, CallStatus.BUSY)]
    record_shuffled(call_log, mixed_calls(seed=43) + unfinished_calls() + specs)
    arriving = [c for spec in mixed_calls(seed=47) for c in spec.callbacks]

    def record_some(_: int) -> None:
        # Events appended while the workers run: this process replays them afterwards.
        for callback in arriving[:5]:
            call_log.record(callback)
        del arriving[:5]

    shared = runner()
    position = rebuild_views(
        shared.app, shared.views, batch_size=4, workers=2, progress=record_some
    )
    assert position == call_log.recorder.max_notification_id()
    expected = fresh_rebuild(runner)
    assert (dumps(shared.views), shared.positions()) == expected


def fail_to_open() -> Any:
    """Stands for a worker that cannot open its view (picklable: spawned processes)."""
    raise RuntimeError("no view here")


def test_a_failed_worker_fails_the_rebuild_and_leaves_the_live_view(
    call_log: CallLog, runner: Runner
) -> None:
    record_shuffled(call_log, mixed_calls(seed=53))
    live = runner()
    live.catch_up()
    old = dumps(live.views)
    failing = runner()
    failing.views[1].reopen = fail_to_open
    with pytest.raises(RuntimeError, match="no view here"):
        rebuild_views(failing.app, failing.views, batch_size=4, workers=2)
    assert dumps(live.views) == old
    live.catch_up()
    assert (dumps(live.views), live.positions()) == fresh_rebuild(runner)


def test_batches_held_back_while_another_writer_has_the_store_are_written_in_order(
    database_url: str, call_log: CallLog, runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = parse_database_url(database_url)
    if database.kind != "sqlite":
        pytest.skip("PostgreSQL has no single write lock to wait for")
    record_shuffled(call_log, mixed_calls(seed=59))
    expected = fresh_rebuild(runner)
    other = sqlite3.connect(database.sqlite_file("timeline"), isolation_level=None)
    refused: list[int] = []
    real = SQLiteTimelineView.write_staged

    def write_staged(view: SQLiteTimelineView, staged: list[Any], *, wait: bool) -> bool:
        written = real(view, staged, wait=wait)
        if not written:
            refused.append(len(staged))
        return written

    def progress(_: int) -> None:
        if not refused and not other.in_transaction:
            other.execute("BEGIN IMMEDIATE")  # another writer (a rebuild worker) takes it
        elif len(refused) == MAX_PENDING - 1 and other.in_transaction:
            other.rollback()  # and lets go before the rebuild would have to wait

    monkeypatch.setattr(SQLiteTimelineView, "write_staged", write_staged)
    try:
        rebuilding = runner()
        rebuild_views(rebuilding.app, rebuilding.views, batch_size=3, progress=progress)
    finally:
        other.close()
    assert refused == list(range(1, MAX_PENDING))
    assert (dumps(rebuilding.views), rebuilding.positions()) == expected
