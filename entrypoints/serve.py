"""``calltrail serve``: the webhooks and the read API under uvicorn."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
from collections.abc import Iterator
from typing import Any

from service.settings import Settings, SettingsError


def serve(host: str, port: int, workers: int) -> int:
    """Serve the webhook and read API with uvicorn; settings come from ``CALLTRAIL_*``."""
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    from service.bootstrap import check_security  # noqa: PLC0415

    try:
        settings = Settings.from_env()
        check_security(settings)
    except SettingsError as error:
        print(f"calltrail: {error}", file=sys.stderr)
        return 2
    where: dict[str, Any] = {"host": host, "port": port}
    if workers > 1:
        # uvicorn binds in the supervisor but listens only in each worker once it has
        # started: until then connections are refused. Listening here first lets the
        # kernel queue them while the workers start.
        listener = socket.create_server((host, port), backlog=2048)
        listener.set_inheritable(True)
        where = {"fd": listener.fileno()}
        print(f"calltrail: {workers} workers on http://{host}:{port}", file=sys.stderr)
    with _supervisor_projections(settings, workers):
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            **where,
            workers=workers,
            log_level="info",
            access_log=False,  # each webhook already logs one JSON line (api/observability.py)
            # Forwarded headers count only from CALLTRAIL_TRUSTED_PROXIES (api/webhooks.py).
            proxy_headers=False,
        )
    return 0


@contextlib.contextmanager
def _supervisor_projections(settings: Settings, workers: int) -> Iterator[None]:
    """With several workers, project in this supervising process, not once per worker.

    N embedded runners would all read the log and race for the same view writes (the
    tracking check keeps that exactly-once, but N-1 of them do the work for nothing).
    The workers' commits cannot wake a runner in another process, so it polls (0.5 s).
    """
    if workers <= 1 or not settings.embedded_projections:
        yield
        return
    from projections.runner import following  # noqa: PLC0415
    from service.bootstrap import projection_runner  # noqa: PLC0415

    os.environ["CALLTRAIL_PROJECTIONS"] = "off"  # inherited by the spawned workers
    logging.getLogger("calltrail").info("%d workers; projections run in the supervisor", workers)
    with following(projection_runner(settings)):
        yield
