"""The ``calltrail`` command: ``serve`` for deployments (``make run`` wraps it for development)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from service.settings import Settings, SettingsError


def serve(host: str, port: int, workers: int) -> int:
    """Serve the webhook and read API with uvicorn; settings come from ``CALLTRAIL_*``."""
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    from service.bootstrap import check_security  # noqa: PLC0415

    try:
        check_security(Settings.from_env())
    except SettingsError as error:
        print(f"calltrail: {error}", file=sys.stderr)
        return 2
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        proxy_headers=False,  # forwarded headers are honoured only from CALLTRAIL_TRUSTED_PROXIES
    )
    return 0


def project() -> int:
    """Keep the views up to date in this process (for deployments that set
    ``CALLTRAIL_PROJECTIONS=off`` on the web workers), until SIGTERM or Ctrl-C."""
    from service.bootstrap import projection_runner  # noqa: PLC0415

    runner = projection_runner(Settings.from_env())
    stop = threading.Event()

    def finish(*_: object) -> None:
        stop.set()
        runner.wake.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, finish)
    logging.getLogger("calltrail").info("following the event log; positions %s", runner.positions())
    runner.follow(stop)
    return 0


def rebuild(which: str, batch_size: int) -> int:
    """Empty the chosen views and replay the whole event log into them, in batches."""
    from tqdm import tqdm  # noqa: PLC0415

    from projections.runner import VIEW_NAMES  # noqa: PLC0415
    from service.bootstrap import projection_runner  # noqa: PLC0415

    names = VIEW_NAMES if which == "all" else (which,)
    runner = projection_runner(Settings.from_env(), names)
    runner.batch_size = batch_size
    total = runner.app.recorder.max_notification_id() or 0
    for view in runner.views:
        view.reset()
    with tqdm(total=total, unit="ev", unit_scale=True, desc=f"rebuild {which}") as bar:
        replayed = runner.catch_up(progress=bar.update)
    print(f"rebuilt {', '.join(names)} from {replayed} events", file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(prog="calltrail", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="serve the webhooks and the read API")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    commands.add_parser("project", help="keep the read-model views up to date (separate process)")
    again = commands.add_parser("rebuild", help="replay the event log into empty views")
    again.add_argument("view", choices=["timeline", "metrics", "all"])
    again.add_argument("--batch", type=int, default=5000, help="events per view transaction")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``calltrail`` console script."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parser().parse_args(argv)
    try:
        if args.command == "serve":
            return serve(args.host, args.port, args.workers)
        if args.command == "project":
            return project()
        return rebuild(args.view, args.batch)
    except SettingsError as error:
        print(f"calltrail: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
