"""Logs: one JSON object per line on standard error, in one format for the whole process.

Every record (calltrail's, uvicorn's, the libraries') goes through the root logger's one
handler and ``JsonFormatter``. A record may carry fields of its own as
``extra={"fields": {...}}``: they are added to its object (the request log does so).
"""

from __future__ import annotations

import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

import msgspec

LEVELS = ("info", "debug", "warning", "error")
"""``CALLTRAIL_LOG_LEVEL`` values, the default first."""

_encode = msgspec.json.Encoder().encode


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ...fields, "exception"?}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON object (newlines in messages are escaped by JSON)."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encode(line).decode()


def json_formatter() -> JsonFormatter:
    """The formatter, for ``dictConfig``; also makes this process's records cheaper.

    A record need not know its thread, process or source line (none is logged), and
    looking them up is most of a record's cost on the webhook path (the logging
    documentation's "Optimization" section lists these switches).
    """
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # documented: skips sys._getframe
    return JsonFormatter()


def logging_config(level: str = "info") -> dict[str, Any]:
    """A ``dictConfig`` dict: everything as JSON lines on stderr at ``level`` and above.

    Also uvicorn's ``log_config``: uvicorn applies it in every worker it starts, so its
    own lines ("Uvicorn running on ...") are JSON lines too.
    """
    upper = level.upper()
    own = {"level": upper, "handlers": [], "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "service.logs.json_formatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {"uvicorn": own, "uvicorn.error": own, "uvicorn.access": own},
        "root": {"level": upper, "handlers": ["stderr"]},
    }


def configure_logging(level: str = "info") -> None:
    """Send every log record of this process to stderr as a JSON line."""
    logging.config.dictConfig(logging_config(level))
