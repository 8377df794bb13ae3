"""uvicorn's httptools protocol with limits that hold before any request reaches the app.

uvicorn reads a request head without bound (httptools keeps growing a header value until
its end arrives), never times out a connection that has not finished its first head, and
accepts connections until the process runs out of file descriptors. This protocol adds
three limits, each checked on the bytes as they arrive, before any signature is checked:

- a request head (request line and headers) over ``max_header_bytes`` is refused with
  431 (414 when the request line alone is too long) and not read further;
- a connection that owes a request head (new, or idle after a response) and has not
  completed it within ``header_timeout`` seconds is closed;
- with ``max_connections`` open in this process, a new connection makes room by closing
  the connection that has owed a head the longest; only when every connection is busy
  with a request is the new one refused (503).

Errors this layer answers (and malformed HTTP, which httptools rejects) are JSON of the
same shape as the app's. Work added per request: two dict operations and a comparison.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

log = logging.getLogger("calltrail.http")

# After refusing a request, keep reading (and dropping) what the client still sends, for
# a short while and up to a bound, so that the client reads the error instead of a reset.
LINGER_SECONDS = 2.0
LINGER_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Limits:
    """What one server process allows its connections."""

    max_header_bytes: int
    header_timeout: float
    max_connections: int


class Waiting:
    """The connections of one server that owe a request head, oldest first, and a tick
    that closes those past the header timeout."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.since: dict[GuardedHttp, float] = {}  # insertion order = oldest first
        self.tick: asyncio.TimerHandle | None = None
        self.counts = {"timed_out": 0, "reclaimed": 0, "refused": 0}

    def add(self, connection: GuardedHttp) -> None:
        """``connection`` now owes a request head."""
        self.since[connection] = connection.loop.time()
        if self.tick is None:
            self.tick = connection.loop.call_later(1.0, self.sweep, connection.loop)

    def reclaim(self) -> bool:
        """Close the connection that has owed a head the longest; False if none does."""
        if not self.since:
            return False
        oldest = next(iter(self.since))
        del self.since[oldest]
        oldest.transport.close()
        self.counts["reclaimed"] += 1
        return True

    def sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        """Close the connections past the header timeout; report what the limits did."""
        expired = loop.time() - self.timeout
        while self.since:
            oldest, since = next(iter(self.since.items()))
            if since > expired:
                break
            del self.since[oldest]
            oldest.transport.close()
            self.counts["timed_out"] += 1
        if any(self.counts.values()):
            log.warning(
                "connection limits: %(timed_out)d closed at the header timeout, "
                "%(reclaimed)d closed to make room, %(refused)d refused at the cap",
                self.counts,
            )
            self.counts = dict.fromkeys(self.counts, 0)
        self.tick = loop.call_later(1.0, self.sweep, loop) if self.since else None


class GuardedHttp(HttpToolsProtocol):
    """One connection, served by uvicorn's httptools protocol within ``LIMITS``."""

    LIMITS: ClassVar[Limits]
    WAITING: ClassVar[Waiting]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_bytes = 0  # bytes of the current request head so far; -1 in a body
        self.heads = 0  # request heads completed on this connection
        self.lingering = -1  # bytes dropped after a refusal; -1 before any

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.LIMITS.max_connections and not self.WAITING.reclaim():
            self.WAITING.counts["refused"] += 1
            self.refuse(503, "too_many_connections", "the server is at its connection limit")
            return
        self.WAITING.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.WAITING.since.pop(self, None)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.lingering >= 0:
            self.lingering += len(data)
            if self.lingering > LINGER_BYTES:
                self.transport.abort()
            return
        if self.head_bytes < 0:  # a body: its size is the app's to bound
            self.feed(data)
            return
        room = self.LIMITS.max_header_bytes - self.head_bytes
        if len(data) <= room:
            self.head_bytes += len(data)
            self.feed(data)
            return
        heads, self.head_bytes = self.heads, self.LIMITS.max_header_bytes
        self.feed(data[:room])
        if self.transport.is_closing() or self.lingering >= 0:
            return
        if self.heads == heads:
            self.refuse_oversized()
        else:  # the head ended within the limit; the rest is a body or the next request
            self.data_received(data[room:])

    def feed(self, data: bytes) -> None:
        """Parse ``data``; answer malformed HTTP with a JSON 400."""
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            detail = f"the request is not valid HTTP/1.1 ({error})"
            self.refuse(400, "malformed_request", detail)
        except httptools.HttpParserUpgrade:
            pass  # no route takes an upgrade: the request is served as plain HTTP

    def refuse_oversized(self) -> None:
        """Refuse a request whose head passed the limit, naming what was too long."""
        limit = self.LIMITS.max_header_bytes
        if not self.headers:
            self.refuse(414, "uri_too_long", f"the request line is longer than {limit} bytes")
        else:
            detail = f"the request headers are larger than {limit} bytes"
            self.refuse(431, "request_header_fields_too_large", detail)

    def on_headers_complete(self) -> None:
        self.WAITING.since.pop(self, None)
        self.heads += 1
        self.head_bytes = -1
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self.head_bytes = 0
        super().on_message_complete()

    def on_response_complete(self) -> None:
        idle = not self.pipeline
        super().on_response_complete()
        if idle and not self.transport.is_closing():
            self.WAITING.add(self)

    def send_400_response(self, msg: str) -> None:
        self.refuse(400, "malformed_request", msg)

    def refuse(self, status: int, code: str, detail: str) -> None:
        """Answer ``status`` with a JSON error, then close once the client stops sending."""
        self.WAITING.since.pop(self, None)
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()  # mid-way through a response: no room for another
            return
        body = json.dumps({"error": code, "detail": detail}).encode()
        head = [STATUS_LINE[status]]
        head += [name + b": " + value + b"\r\n" for name, value in self.default_headers()]
        head.append(b"content-type: application/json\r\ncontent-length: %d\r\n" % len(body))
        self.transport.write(b"".join([*head, b"connection: close\r\n\r\n", body]))
        self.transport.write_eof()
        self.lingering = 0
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def default_headers(self) -> list[tuple[bytes, bytes]]:
        """uvicorn's ``server`` and ``date`` headers."""
        return self.server_state.default_headers


def protocol_class(limits: Limits) -> type[GuardedHttp]:
    """A protocol class for one server (uvicorn's ``http=``) with ``limits``."""

    class CalltrailHttp(GuardedHttp):
        LIMITS = limits
        WAITING = Waiting(limits.header_timeout)

    return CalltrailHttp
