"""Logs: one JSON object per line on standard error, in one format for the whole process.

Every record (calltrail's, uvicorn's, the libraries') goes through the root logger's one
handler and ``JsonFormatter``. A record may carry fields of its own as
``extra={"fields": {...}}``: they are added to its object (the request log does so).

The handler writes the lines an event loop's turn produced together: every request logs
a line, and a write (and the reader's wake-up) per line cost a webhook more than its
whole log record (``LineBatchingHandler``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import logging.config
import time
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
        exception = self.formatException(record.exc_info) if record.exc_info else None
        fields = getattr(record, "fields", None)
        return json_line(
            record.created, record.levelname, record.name, record.getMessage(), fields, exception
        )


def json_line(
    created: float,
    level: str,
    logger: str,
    message: str,
    fields: dict[str, Any] | None = None,
    exception: str | None = None,
) -> str:
    """A log line: ``{"time", "level", "logger", "message", ...fields, "exception"?}``."""
    line: dict[str, Any] = {
        "time": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"),
        "level": level.lower(),
        "logger": logger,
        "message": message,
    }
    if fields:
        line.update(fields)
    if exception:
        line["exception"] = exception
    return _encode(line).decode()


def log_fields(logger: logging.Logger, message: str, fields: dict[str, Any]) -> None:
    """Log ``message`` with ``fields`` at INFO on ``logger``, which must be enabled for it.

    In a serving process, whose one handler is a ``LineBatchingHandler`` and which has no
    filters, the line ``JsonFormatter`` would make is queued without building a
    ``LogRecord``: the request log writes a line per request, and the record cost more
    than the line. Anywhere else (a test's capturing handler, a filter) it is logged
    through ``logger.info``.
    """
    handlers = _root.handlers
    if len(handlers) == 1 and not logger.handlers and not logger.filters and not _root.filters:
        handler = handlers[0]
        if (
            type(handler) is LineBatchingHandler
            and handler.level <= logging.INFO
            and not handler.filters
            and logger.propagate
        ):
            line = json_line(time.time(), "info", logger.name, message, fields)
            with handler.lock or contextlib.nullcontext():
                handler.add(line, logging.INFO)
            return
    logger.info(message, extra={"fields": fields})


_root = logging.getLogger()


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
                "()": "service.logs.LineBatchingHandler",
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


class LineBatchingHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A ``StreamHandler`` that writes the lines logged during one turn of an event loop
    with one write, at the end of that turn; anything else at once.

    A record at WARNING or above, one logged off an event loop's thread, or the 256th
    line waiting, flushes what waits, in order. Lines wait at most until the loop's next
    turn, so a process killed outright (SIGKILL) can lose at most that turn's lines; one
    that exits must ``flush_logs`` first (multiprocessing's children skip ``atexit``).
    """

    MAX_WAITING = 256

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self.waiting: list[str] = []
        self.flush_scheduled = False

    def emit(self, record: logging.LogRecord) -> None:
        """Format the record and queue its line, or write it (and what waits) now."""
        try:
            line = self.format(record)
        except Exception:  # as StreamHandler.emit does: a bad record never fails the caller
            self.handleError(record)
            return
        self.add(line, record.levelno)

    def add(self, line: str, level: int) -> None:
        """Queue ``line`` (or write it now, with what waits); the caller holds the lock."""
        self.waiting.append(line)
        if level >= logging.WARNING or len(self.waiting) >= self.MAX_WAITING:
            self.flush()
        elif not self.flush_scheduled:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not on an event loop's thread
                self.flush()
                return
            self.flush_scheduled = True
            loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write every waiting line, then flush the stream."""
        with self.lock if self.lock is not None else contextlib.nullcontext():
            self.flush_scheduled = False
            if self.waiting:
                lines, self.waiting = self.waiting, []
                try:
                    self.stream.write("\n".join(lines) + self.terminator)
                except Exception:
                    self.handleError(_unwritten)
            super().flush()


_unwritten = logging.makeLogRecord({"msg": "log lines could not be written"})


def flush_logs() -> None:
    """Write every log line still waiting in this process's handlers."""
    for handler in logging.getLogger().handlers:
        handler.flush()
