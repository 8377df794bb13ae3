"""``calltrail serve``: the webhooks and the read API, in supervised processes."""

from __future__ import annotations

import logging

from service.logs import configure_logging
from service.settings import Settings, SettingsError

log = logging.getLogger("calltrail")


def serve(host: str, port: int, workers: int) -> int:
    """Serve the webhooks and the read API; settings come from ``CALLTRAIL_*``.

    The web workers, and the projection runner when the service projects, run as
    supervised processes of this one (service/serving.py). Every line the processes
    log is one JSON object (service/logs.py).
    """
    from service.bootstrap import check_security  # noqa: PLC0415
    from service.serving import listen, supervise  # noqa: PLC0415

    try:
        settings = Settings.from_env()
        configure_logging(settings.log_level)
        check_security(settings)
    except SettingsError as error:
        configure_logging()
        log.error("%s", error)
        return 2
    try:
        sockets = listen(host, port, workers)
    except OSError as error:
        log.error("cannot listen on %s:%d: %s", host, port, error.strerror)
        return 1
    log.info("%d worker%s on http://%s:%d", workers, "s" if workers > 1 else "", host, port)
    return supervise(settings, sockets)
