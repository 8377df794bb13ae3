"""``calltrail reconcile``: complete open calls and add missing ones from Plivo's Call API
(docs/reconcile.md)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from typing import TextIO

from projections.times import MOMENT_HELP, parse_moment
from service.settings import Settings, SettingsError, parse_duration

DEFAULT_WINDOW = timedelta(days=1)


def _duration(text: str) -> timedelta:
    try:
        return timedelta(seconds=parse_duration(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _moment(text: str) -> datetime:
    try:
        return parse_moment(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_arguments(options: argparse.ArgumentParser) -> None:
    """The ``reconcile`` subcommand's options."""
    options.add_argument(
        "--since",
        type=_moment,
        help=f"add unknown calls that ended at or after this time: {MOMENT_HELP}"
        " (default: 24 hours ago)",
    )
    options.add_argument(
        "--older-than",
        type=_duration,
        default=None,
        help="look up open calls whose latest callback is older than this, such as 30s,"
        " 15m or 2h; unknown calls that ended more recently are left for later too"
        " (default: CALLTRAIL_RECONCILE_OLDER_THAN, 15m)",
    )
    options.add_argument(
        "--dry-run",
        action="store_true",
        help="ask the Call API and report, but record nothing (default: off)",
    )


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """One pass with a progress bar per step, then its summary on ``out``."""
    from tqdm import tqdm  # noqa: PLC0415

    from service.bootstrap import open_views  # noqa: PLC0415
    from service.plivo_calls import CallApi, CallApiAuthError, call_api_options  # noqa: PLC0415
    from service.reconcile import PassOptions, Reconciler, Summary  # noqa: PLC0415
    from store.application import open_call_log  # noqa: PLC0415

    settings = Settings.from_env()
    api_options = call_api_options(settings)
    if api_options is None:
        raise SettingsError(
            "calltrail reconcile needs CALLTRAIL_PLIVO_AUTH_ID and CALLTRAIL_PLIVO_AUTH_TOKEN"
        )
    now = datetime.now(UTC)
    older_than = args.older_than
    if older_than is None:
        older_than = timedelta(seconds=settings.reconcile_older_than)
    options = PassOptions(now, older_than, args.since or now - DEFAULT_WINDOW, args.dry_run)
    call_log = open_call_log(settings.database)
    (timeline,) = open_views(settings, ("timeline",))
    try:
        with CallApi(api_options) as api:
            lag = (call_log.recorder.max_notification_id() or 0) - timeline.position(call_log.name)
            if lag > 0:
                print(
                    f"calltrail: the timeline view is {lag:,} events behind the log: calls"
                    " opened by them are not looked up (is the service, or calltrail project,"
                    " running?)",
                    file=sys.stderr,
                )
            reconciler = Reconciler(call_log, timeline, api)
            due = reconciler.due(options)
            summary = Summary()
            try:
                with tqdm(total=len(due), unit="call", desc="open calls", file=sys.stderr) as bar:
                    reconciler.look_up(options, summary, due, bar.update)
                with tqdm(unit="record", desc="ended calls", file=sys.stderr) as bar:
                    reconciler.add_unknown(options, summary, bar.update)
            finally:
                summary.requests = api.stats.requests
    except CallApiAuthError as error:
        print(f"calltrail: {error}", file=sys.stderr)
        return 2
    finally:
        call_log.close()
        timeline.close()
    prefix = "dry run, nothing recorded: " if args.dry_run else ""
    print(f"reconciled with Plivo's Call API: {prefix}{summary.line()}", file=out)
    return 1 if summary.errors else 0
