"""The ``calltrail`` command line: its options, and which command each subcommand runs."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from entrypoints import commands, quarantine, reconcile
from entrypoints.quarantine import add_arguments as add_quarantine_arguments
from entrypoints.serve import serve
from service.settings import SettingsError
from simulator.cli import add_arguments as add_simulate_arguments
from simulator.cli import simulate


def _simulator_env() -> dict[str, str]:
    """The environment, with ``make run``'s development credentials where it has none."""
    from entrypoints.devrun import DEV_ENV, dev_values  # noqa: PLC0415

    env = dict(os.environ)
    if DEV_ENV.exists():
        for key, value in dev_values().items():
            env.setdefault(key, value)
    return env


DESCRIPTION = (
    "calltrail records every Plivo voice callback as an event and keeps each call's state."
    " Settings come from CALLTRAIL_* environment variables (see README.md)."
)
DEFAULT = " (default: %(default)s)"


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(prog="calltrail", description=DESCRIPTION)
    subcommands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _serve_options(subcommands.add_parser("serve", help="serve the webhooks and the read API"))
    project = subcommands.add_parser(
        "project", help="keep the read-model views up to date (separate process)"
    )
    project.add_argument(
        "--batch", type=int, default=2000, help="events per view transaction" + DEFAULT
    )
    _rebuild_options(
        subcommands.add_parser(
            "rebuild", help="replay the event log into new views, then swap them in"
        )
    )
    _export_options(subcommands.add_parser("export", help="export events or calls for analytics"))
    subcommands.add_parser("import", help="load an events export into an empty store").add_argument(
        "file", help="an events export (JSONL) written by 'calltrail export events'"
    )
    add_quarantine_arguments(
        subcommands.add_parser(
            "quarantine", help="list the events the views could not apply, or apply them again"
        )
    )
    reconcile.add_arguments(
        subcommands.add_parser(
            "reconcile",
            help="complete open calls and add missing ones from Plivo's Call API",
        )
    )
    simulate_options = subcommands.add_parser(
        "simulate", help="send realistic signed Plivo traffic to a deployment and check it"
    )
    add_simulate_arguments(simulate_options)
    return top


def _serve_options(options: argparse.ArgumentParser) -> None:
    options.add_argument("--host", default="127.0.0.1", help="address to listen on" + DEFAULT)
    options.add_argument("--port", type=int, default=8000, help="port to listen on" + DEFAULT)
    options.add_argument(
        "--workers", type=_positive, default=1, help="web worker processes" + DEFAULT
    )


def _rebuild_options(options: argparse.ArgumentParser) -> None:
    options.add_argument(
        "view", choices=["timeline", "metrics", "all"], help="the views to rebuild"
    )
    options.add_argument(
        "--batch", type=int, default=100_000, help="events per view transaction" + DEFAULT
    )
    options.add_argument(
        "--workers", type=int, help="processes sharing the calls (default: CPUs, at most 4)"
    )


def _export_options(options: argparse.ArgumentParser) -> None:
    options.add_argument(
        "what",
        choices=["events", "calls"],
        help="events (the stored log, for calltrail import) or calls (one summary each)",
    )
    options.add_argument(
        "--format",
        choices=["jsonl", "csv"],
        default="jsonl",
        help="one JSON document per line, or CSV (calls only)" + DEFAULT,
    )
    options.add_argument(
        "--since",
        help="RFC 3339 time or date, UTC if no offset; events that occurred, or calls first"
        " seen, at or after it (default: from the first)",
    )
    options.add_argument(
        "--until", help="RFC 3339 time or date, exclusive (default: up to the last)"
    )
    options.add_argument("--out", default="-", help="file to write (default: standard output)")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``calltrail`` console script."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parser().parse_args(argv)
    run: dict[str, Callable[[], int]] = {
        "serve": lambda: serve(args.host, args.port, args.workers),
        "project": lambda: commands.project(args.batch),
        "rebuild": lambda: commands.rebuild(args.view, args.batch, args.workers),
        "quarantine": lambda: quarantine.run(args),
        "export": lambda: commands.export(args.what, args.format, args.since, args.until, args.out),
        "import": lambda: commands.import_log(args.file),
        "reconcile": lambda: reconcile.run(args),
        "simulate": lambda: simulate(args, _simulator_env()),
    }
    try:
        return run[args.command]()
    except SettingsError as error:
        print(f"calltrail: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
