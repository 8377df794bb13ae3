"""The ``calltrail`` command: ``serve`` for deployments (``make run`` wraps it for development)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import IO

from service.settings import Settings, SettingsError
from simulator.cli import add_arguments as add_simulate_arguments
from simulator.cli import simulate


def serve(host: str, port: int, workers: int) -> int:
    """Serve the webhooks and the read API; settings come from ``CALLTRAIL_*``.

    The web workers, and the projection runner when the service projects, run as
    supervised processes of this one (service/serving.py).
    """
    from service.bootstrap import check_security  # noqa: PLC0415
    from service.serving import listen, supervise  # noqa: PLC0415

    try:
        settings = Settings.from_env()
        check_security(settings)
    except SettingsError as error:
        print(f"calltrail: {error}", file=sys.stderr)
        return 2
    try:
        sockets = listen(host, port, workers)
    except OSError as error:
        print(f"calltrail: cannot listen on {host}:{port}: {error.strerror}", file=sys.stderr)
        return 1
    plural = "s" if workers > 1 else ""
    print(f"calltrail: {workers} worker{plural} on http://{host}:{port}", file=sys.stderr)
    return supervise(settings, sockets)


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
    from projections.runner import VIEW_NAMES  # noqa: PLC0415
    from service.bootstrap import projection_runner  # noqa: PLC0415

    names = VIEW_NAMES if which == "all" else (which,)
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
    from service.bootstrap import open_call_log, open_views  # noqa: PLC0415

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
            where = CallFilter(since=_iso(start), until=_iso(end))
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
    from service.bootstrap import open_call_log  # noqa: PLC0415

    app = open_call_log(Settings.from_env().database)
    if app.recorder.max_notification_id():
        print("calltrail: import needs an empty event store", file=sys.stderr)
        return 2
    with open(path, "rb") as lines, tqdm(unit="event", desc="import") as bar:
        count = exports.import_events(app, lines, bar.update)
    print(f"imported {count} events; now run: calltrail rebuild all", file=sys.stderr)
    return 0


def _simulator_env() -> dict[str, str]:
    """The environment, with ``make run``'s development credentials where it has none."""
    from service.devrun import DEV_ENV, dev_values  # noqa: PLC0415

    env = dict(os.environ)
    if DEV_ENV.exists():
        for key, value in dev_values().items():
            env.setdefault(key, value)
    return env


def _moment(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise SettingsError(f"not an ISO 8601 time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="microseconds")


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


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(prog="calltrail", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="serve the webhooks and the read API")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--workers", type=_positive, default=1, help="web worker processes")
    follow = commands.add_parser(
        "project", help="keep the read-model views up to date (separate process)"
    )
    follow.add_argument("--batch", type=int, default=2000, help="events per view transaction")
    again = commands.add_parser(
        "rebuild", help="replay the event log into new views, then swap them in"
    )
    again.add_argument("view", choices=["timeline", "metrics", "all"])
    again.add_argument("--batch", type=int, default=100_000, help="events per view transaction")
    again.add_argument(
        "--workers", type=int, help="processes sharing the calls (default: CPUs, at most 4)"
    )
    out = commands.add_parser("export", help="export events or calls for analytics")
    out.add_argument("what", choices=["events", "calls"])
    out.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    out.add_argument("--since", help="ISO 8601 time (UTC if no offset)")
    out.add_argument("--until", help="ISO 8601 time, exclusive")
    out.add_argument("--out", default="-", help="file to write (default: standard output)")
    load = commands.add_parser("import", help="load an events export into an empty store")
    load.add_argument("file")
    traffic = commands.add_parser(
        "simulate", help="send realistic signed Plivo traffic to a deployment and check it"
    )
    add_simulate_arguments(traffic)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``calltrail`` console script."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parser().parse_args(argv)
    commands: dict[str, Callable[[], int]] = {
        "serve": lambda: serve(args.host, args.port, args.workers),
        "project": lambda: project(args.batch),
        "rebuild": lambda: rebuild(args.view, args.batch, args.workers),
        "export": lambda: export(args.what, args.format, args.since, args.until, args.out),
        "import": lambda: import_log(args.file),
        "simulate": lambda: simulate(args, _simulator_env()),
    }
    try:
        return commands[args.command]()
    except SettingsError as error:
        print(f"calltrail: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
