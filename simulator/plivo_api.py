"""A local Plivo Call API for tests and demos, answering the routes the plivo SDK calls.

``GET /v1/Account/{auth_id}/Call/{uuid}/`` (``calls.get``): the call detail record of
any leg, 404 while it is not written. With ``?status=live`` (``live_calls.get``): the
call while it is up. ``GET /v1/Account/{auth_id}/Call/`` (``calls.list``): records by
the filters of ``plivo_queries``, newest end first, 20 a page at most; with
``?status=live`` (``live_calls.list_ids``): the UUIDs of the calls up now.

Every request needs HTTP basic auth with the account's auth id and token (else 401,
before anything else). Faults come after that: answers queued with ``fail_next`` (429
with Retry-After, any 5xx), every Nth request throttled or failed (``Faults``), and the
per-call faults of ``Account``. It serves from a background thread (the standard
library's threading HTTP server: no event loop to share with the caller's), on a free
port when given port 0; every request it answered is in ``served``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from simulator.calls import SimulatedCall
from simulator.plivo_account import Account, Faults
from simulator.plivo_queries import QueryError, keep, page, page_bounds

_ROUTE = re.compile(r"^/v1/Account/(?P<account>[^/]+)/Call/(?:(?P<call>[^/]+)/)?$")
_REASONS = {401: "authentication failed", 404: "not found", 405: "method not allowed"}


@dataclass(frozen=True, slots=True)
class Reply:
    """One answer: status, JSON body, extra headers."""

    status: int
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Served:
    """A request the fake answered, for tests to inspect (``at``: monotonic seconds)."""

    at: float
    method: str
    path: str
    query: Mapping[str, str]
    status: int


class PlivoCallApi:
    """Plivo's Call API for ``calls``, under one account's credentials."""

    def __init__(
        self,
        calls: Iterable[SimulatedCall],
        auth_id: str,
        auth_token: str,
        *,
        zone: tzinfo = UTC,
        faults: Faults | None = None,
        clock: Callable[[], datetime] | None = None,
        cursors: bool = False,
    ) -> None:
        self.account = Account(calls, auth_id, zone, faults, clock)
        self._credentials = (auth_id, auth_token)
        self.cursors = cursors  # meta.next with an opaque cursor instead of an offset
        self.served: list[Served] = []
        self._queued: list[tuple[int, int | None]] = []
        self._answered = 0  # authenticated requests, for the every-Nth faults
        self._lock = threading.Lock()
        self._server: _Server | None = None

    def fail_next(self, status: int, count: int = 1, retry_after: int | None = None) -> None:
        """Answer the next ``count`` authenticated requests with ``status``."""
        with self._lock:
            self._queued += [(status, retry_after)] * count

    def answer(self, method: str, target: str, authorization: str | None) -> Reply:
        """The reply to one request; recorded in ``served``."""
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        reply = self._decide(method, parts.path, query, authorization)
        with self._lock:
            self.served.append(Served(time.monotonic(), method, parts.path, query, reply.status))
        return reply

    def _decide(
        self, method: str, path: str, query: dict[str, str], authorization: str | None
    ) -> Reply:
        route = _ROUTE.match(path)
        if not self._authorized(authorization, route):
            return _error(401)
        fault = self._fault()
        if fault is not None:
            return fault
        if route is None:
            return _error(404)
        if method != "GET":
            return _error(405)
        try:
            return self._route(path, route["call"], query)
        except QueryError as error:
            return _error(400, str(error))

    def _authorized(self, authorization: str | None, route: re.Match[str] | None) -> bool:
        scheme, _, encoded = (authorization or "").partition(" ")
        try:
            given = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        auth_id, _, token = given.partition(":")
        expected_id, expected_token = self._credentials
        same = hmac.compare_digest(auth_id.encode(), expected_id.encode())
        same &= hmac.compare_digest(token.encode(), expected_token.encode())
        mine = route is None or route["account"] == expected_id
        return scheme.lower() == "basic" and same and mine

    def _fault(self) -> Reply | None:
        faults = self.account.faults
        with self._lock:
            self._answered += 1
            count = self._answered
            status, retry_after = self._queued.pop(0) if self._queued else (0, None)
        if not status and faults.throttle_every and count % faults.throttle_every == 0:
            status, retry_after = 429, faults.retry_after
        if not status and faults.error_every and count % faults.error_every == 0:
            status = 503
        if not status:
            return None
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        reason = "too many requests" if status == 429 else "service unavailable"
        return Reply(status, _body(error=reason), headers)

    def _route(self, path: str, call_uuid: str | None, query: dict[str, str]) -> Reply:
        account, live = self.account, query.get("status") == "live"
        if call_uuid is not None:
            found = account.live_call(call_uuid) if live else account.record(call_uuid)
            return Reply(200, _body(**found)) if found is not None else _error(404)
        if live:
            limit, offset = page_bounds(query)
            return Reply(200, _body(calls=account.live_ids()[offset : offset + limit]))
        query.pop("status", None)
        found_records = account.matching(keep(query, account.clock()))
        return Reply(200, _body(**page(found_records, query, path, self.cursors)))

    @property
    def url(self) -> str:
        """The base URL to give the SDK (``CALLTRAIL_PLIVO_API_URL``)."""
        if self._server is None:
            raise RuntimeError("the fake Call API is not serving")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        """Serve on ``host:port`` (0: a free port) from a background thread."""
        server = _Server((host, port), _Handler)
        server.api = self
        self._server = server
        threading.Thread(
            target=server.serve_forever, args=(0.05,), name="plivo-api", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self if self._server is not None else self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    """One thread a connection; a client hanging up is not an error worth a traceback."""

    daemon_threads = True
    api: PlivoCallApi

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Hands each request to the server's ``PlivoCallApi``."""

    server: _Server

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        reply = self.server.api.answer(self.command, self.path, self.headers.get("Authorization"))
        payload = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        """Answer a GET, the only method the Call API routes take."""
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the simulator's report says what was served."""


def _body(**fields: Any) -> dict[str, Any]:
    return {"api_id": str(uuid.uuid4()), **fields}


def _error(status: int, reason: str | None = None) -> Reply:
    return Reply(status, _body(error=reason or _REASONS.get(status, "error")))
