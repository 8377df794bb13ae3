"""The commands beside ``serve``: keep the views up to date, rebuild them, export and
import."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import IO, TYPE_CHECKING

from service.settings import Settings, SettingsError

if TYPE_CHECKING:  # imported inside the commands that use them, so the CLI starts fast
    pass


def project(batch_size: int = 2000) -> int:
    """Keep the views up to date in this process (for deployments that set
    ``CALLTRAIL_PROJECTIONS=off`` on the web workers), until SIGTERM or Ctrl-C."""
    from service.serving import follow_views  # noqa: PLC0415

    return follow_views(batch_size)


def rebuild(which: str, batch_size: int, workers: int | None = None) -> int:
    """Build the chosen views afresh from the whole event log beside the live ones, then
    swap them in (one transaction each): readers never see a half-built view, and a
    running service's projections carry on from the new views' position."""
    from tqdm import tqdm  # noqa: PLC0415

    from projections.rebuild import rebuild_views  # noqa: PLC0415
    from projections.views import VIEW_NAMES, ViewName  # noqa: PLC0415
    from service.bootstrap import projection_runner  # noqa: PLC0415

    names: tuple[ViewName, ...] = VIEW_NAMES if which == "all" else (which,)  # type: ignore[assignment]
    runner = projection_runner(Settings.from_env(), names)
    try:
        total = runner.app.recorder.max_notification_id() or 0
        with tqdm(total=total, unit="event", unit_scale=True, desc=f"rebuild {which}") as bar:
            position = rebuild_views(
                runner.app,
                runner.views,
                batch_size=batch_size,
                progress=bar.update,
                workers=workers or min(os.cpu_count() or 1, 4),
            )
    finally:
        runner.close()
    print(f"rebuilt {', '.join(names)} up to event {position}", file=sys.stderr)
    return 0


def export(what: str, fmt: str, since: str | None, until: str | None, out: str) -> int:
    """Stream events (from the store) or calls (from the timeline view) to ``out``."""
    settings = Settings.from_env()
    start, end = _moment(since), _moment(until)
    if what == "events":
        if fmt != "jsonl":
            raise SettingsError("events export only as jsonl (it re-imports)")
        count = _export_events(settings, start, end, out)
    else:
        count = _export_calls(settings, fmt, start, end, out)
    print(f"exported {count} {what}", file=sys.stderr)
    return 0


def _export_events(
    settings: Settings, start: datetime | None, end: datetime | None, out: str
) -> int:
    """The events export; its progress is the log position read, of the log's length."""
    from tqdm import tqdm  # noqa: PLC0415

    from service import exports  # noqa: PLC0415
    from service.heap import collected_rarely  # noqa: PLC0415
    from store.application import open_call_log  # noqa: PLC0415

    app = open_call_log(settings.database)
    total = app.recorder.max_notification_id() or 0
    bar = tqdm(total=total, unit="event", desc="export events", disable=out == "-")
    # The export frees what it makes page by page: fewer collections, none of the heap.
    with collected_rarely(), bar, _binary(out) as stream:
        pages = exports.event_pages(app, start, end)
        count = exports.write_pages(pages, stream, lambda position: bar.update(position - bar.n))
        bar.update(total - bar.n)  # the events after the last one exported were read too
    return count


def _export_calls(
    settings: Settings, fmt: str, start: datetime | None, end: datetime | None, out: str
) -> int:
    from tqdm import tqdm  # noqa: PLC0415

    from projections.queries import CallFilter, count_calls  # noqa: PLC0415
    from service import exports  # noqa: PLC0415
    from service.bootstrap import open_views  # noqa: PLC0415

    timeline = open_views(settings, ("timeline",))[0]
    where = CallFilter(since=start, until=end)
    total = count_calls(timeline, where)
    bar = tqdm(total=total, unit="call", desc="export calls", disable=out == "-")
    with bar:
        rows = exports.calls(timeline, where)
        if fmt == "jsonl":
            with _binary(out) as stream:
                return exports.write_jsonl(rows, stream, bar.update)
        with _text(out) as stream:
            return exports.write_csv(rows, stream, bar.update)


def import_log(path: str) -> int:
    """Load an events export into an empty store (then run ``rebuild all``)."""
    from tqdm import tqdm  # noqa: PLC0415

    from service import exports  # noqa: PLC0415
    from store.application import open_call_log  # noqa: PLC0415

    app = open_call_log(Settings.from_env().database)
    if app.recorder.max_notification_id():
        print("calltrail: import needs an empty event store", file=sys.stderr)
        return 2
    with open(path, "rb") as lines:
        total = sum(1 for line in lines if line.strip())
        lines.seek(0)
        with tqdm(total=total, unit="event", desc="import") as bar:
            count = exports.import_events(app, lines, bar.update)
    print(f"imported {count} events; now run: calltrail rebuild all", file=sys.stderr)
    return 0


def _moment(text: str | None) -> datetime | None:
    from projections.times import parse_moment  # noqa: PLC0415

    if text is None:
        return None
    try:
        return parse_moment(text)
    except ValueError as error:
        raise SettingsError(str(error)) from None


@contextlib.contextmanager
def _binary(out: str) -> Iterator[IO[bytes]]:
    if out == "-":
        yield sys.stdout.buffer
        return
    with open(out, "wb") as stream:
        yield stream


@contextlib.contextmanager
def _text(out: str) -> Iterator[IO[str]]:
    if out == "-":
        yield sys.stdout
        return
    with open(out, "w", encoding="utf-8", newline="") as stream:
        yield stream
