"""``calltrail serve``: the webhooks and the read API, in supervised processes."""

from __future__ import annotations

import sys

from service.settings import Settings, SettingsError


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
