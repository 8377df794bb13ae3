"""``calltrail quarantine list|retry``: the events the views hold back because they could
not apply them, and applying them again once the cause is fixed (docs/operations.md)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from service.settings import Settings

if TYPE_CHECKING:
    from projections.quarantine import Held

_COLUMNS = ("position", "view", "call", "held since", "error")


def add_arguments(options: argparse.ArgumentParser) -> None:
    """The ``quarantine`` subcommand's own subcommands and options."""
    actions = options.add_subparsers(
        dest="action", required=True, metavar="ACTION", help="list, or retry"
    )
    listing = actions.add_parser("list", help="the events each view holds, in log order")
    listing.add_argument(
        "--json", action="store_true", help="one JSON object per line (default: a table)"
    )
    retrying = actions.add_parser(
        "retry", help="apply held events again (each with the rest of its call)"
    )
    which = retrying.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--position", type=int, help="the event at this log position (default: none)"
    )
    which.add_argument(
        "--all", action="store_true", help="every held event (default: off; give one of the two)"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``calltrail quarantine list`` or ``retry``."""
    if args.action == "list":
        return list_held(as_json=args.json)
    return retry_held(None if args.all else args.position)


def list_held(as_json: bool, out: TextIO = sys.stdout) -> int:
    """Print every held event: position, view, call, when, error."""
    from projections.quarantine import entries  # noqa: PLC0415
    from service.bootstrap import open_views  # noqa: PLC0415

    views = open_views(Settings.from_env())
    try:
        held = sorted(
            ((entry, view.view_name) for view in views for entry in entries(view)),
            key=lambda pair: (pair[0].position, pair[1]),
        )
    finally:
        for view in views:
            view.close()
    if as_json:
        for entry, name in held:
            print(json.dumps(_line(entry, name)), file=out)
    else:
        rows = [(str(e.position), name, e.call_id, _time(e.held_at), e.error) for e, name in held]
        _table(rows, out)
    if not held:
        print("no events in quarantine", file=sys.stderr)
    return 0


def _line(entry: Held, view: str) -> dict[str, object]:
    return {
        "position": entry.position,
        "view": view,
        "call_id": entry.call_id,
        "cause": entry.cause,
        "error": entry.error,
        "held_at": _time(entry.held_at),
    }


def retry_held(position: int | None) -> int:
    """Apply again the calls held at ``position`` (``None``: all) in every view; 1 if
    anything is still held afterwards."""
    from projections.retry import retry  # noqa: PLC0415
    from service.bootstrap import projection_runner  # noqa: PLC0415

    runner = projection_runner(Settings.from_env())
    try:
        positions = None if position is None else {position}
        outcomes = [retry(runner.app, view, positions) for view in runner.views]
    finally:
        runner.close()
    if position is not None and not any(o.applied or o.held for o in outcomes):
        print(f"calltrail: no view holds the event at position {position}", file=sys.stderr)
        return 1
    for outcome in outcomes:
        print(
            f"{outcome.view}: {len(outcome.applied)} events applied,"
            f" {len(outcome.held)} still held",
            file=sys.stderr,
        )
        for entry in outcome.held:
            if not entry.follows:
                print(f"  event {entry.position}: {entry.error}", file=sys.stderr)
    return 1 if any(outcome.held for outcome in outcomes) else 0


def _time(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _table(rows: Sequence[tuple[str, ...]], out: TextIO) -> None:
    widths = [max([len(c), *(len(row[i]) for row in rows)]) for i, c in enumerate(_COLUMNS)]
    for row in [_COLUMNS, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        print("  ".join([*cells, row[-1]]), file=out)
