"""The commands beside ``serve``: keep the views up to date, rebuild them, export and
import."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import IO

from service.settings import Settings, SettingsError


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
        with tqdm(total=total, unit="ev", unit_scale=True, desc=f"rebuild {which}") as bar:
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
    from tqdm import tqdm  # noqa: PLC0415

    from projections.queries import CallFilter  # noqa: PLC0415
    from service import exports  # noqa: PLC0415
    from service.bootstrap import open_views  # noqa: PLC0415
    from store.application import open_call_log  # noqa: PLC0415

    settings = Settings.from_env()
    start, end = _moment(since), _moment(until)
    with tqdm(unit=what[:-1], desc=f"export {what}", disable=out == "-") as bar:
        if what == "events":
            if fmt != "jsonl":
                raise SettingsError("events export only as jsonl (it re-imports)")
            items = exports.events(open_call_log(settings.database), start, end)
            with _binary(out) as stream:
                count = exports.write_jsonl(items, stream, bar.update)
        else:
            timeline = open_views(settings, ("timeline",))[0]
            where = CallFilter(since=start, until=end)
            rows = exports.calls(timeline, where)
            if fmt == "jsonl":
                with _binary(out) as stream:
                    count = exports.write_jsonl(rows, stream, bar.update)
            else:
                with _text(out) as stream:
                    count = exports.write_csv(rows, stream, bar.update)
    print(f"exported {count} {what}", file=sys.stderr)
    return 0


def import_log(path: str) -> int:
    """Load an events export into an empty store (then run ``rebuild all``)."""
    from tqdm import tqdm  # noqa: PLC0415

    from service import exports  # noqa: PLC0415
    from store.application import open_call_log  # noqa: PLC0415

    app = open_call_log(Settings.from_env().database)
    if app.recorder.max_notification_id():
        print("calltrail: import needs an empty event store", file=sys.stderr)
        return 2
    with open(path, "rb") as lines, tqdm(unit="event", desc="import") as bar:
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
