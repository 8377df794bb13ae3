"""The ``calltrail`` command: ``serve`` for deployments (``make run`` wraps it for development)."""

from __future__ import annotations

import argparse
import logging
import sys
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


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(prog="calltrail", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="serve the webhooks and the read API")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``calltrail`` console script."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parser().parse_args(argv)
    if args.command == "serve":
        return serve(args.host, args.port, args.workers)
    return 2


if __name__ == "__main__":
    sys.exit(main())
