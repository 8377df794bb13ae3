"""The HTTP transport under the plivo SDK's client: where it connects, how fast, how it retries.

The plivo SDK (4.63) builds every Call API URL from module constants
(``https://api.plivo.com/v1/Account/...``) and offers no setting for another host, but its
client sends through a ``requests.Session``, and a session sends each URL through the
transport adapter mounted for its prefix. ``PlivoTransport`` is mounted for Plivo's
prefix on one client's session: it rewrites the URL onto the configured base
(``CALLTRAIL_PLIVO_API_URL``), leaving the SDK and every other client untouched.

It is also where the client behaves as a good API citizen, because only here is every
HTTP request seen with its raw response: requests are spaced to a rate; a 429, a 5xx, a
connection error or a timeout is retried after a pause (the response's Retry-After when
it gives one, else exponential backoff with jitter); every request is counted. When the
retries run out it raises ``CallApiUnavailableError`` instead of returning the failure, so
the SDK's own immediate resending of a 5xx (twice, without pause, printing to stdout)
never runs.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader
from urllib3.util import Retry

from service.settings import PLIVO_API_URL

_NOT_RETRIED = frozenset({501, 505})  # a server that cannot do it now will not later


class CallApiError(Exception):
    """Plivo's Call API did not answer what was asked."""


class CallApiUnavailableError(CallApiError):
    """Plivo's Call API kept failing (429, 5xx, no connection) after every retry."""


@dataclass(frozen=True, slots=True)
class Pacing:
    """How fast to ask and how to retry."""

    rate: float = 2.0  # requests per second; 0: unpaced
    retries: int = 5  # per request, after the first attempt
    backoff: float = 0.5  # seconds before the first retry, doubled at each
    max_backoff: float = 30.0
    max_wait: float = 300.0  # a Retry-After longer than this gives up instead


@dataclass(slots=True)
class RequestStats:
    """What the transport sent: every HTTP request, retries included."""

    requests: int = 0
    retries: int = 0
    waited: float = 0.0  # seconds paused before retries
    statuses: Counter[int] = field(default_factory=Counter)  # 0: no response


class PlivoTransport(HTTPAdapter):
    """Sends the SDK's requests to ``base_url`` at ``pacing.rate``, retrying what is worth it."""

    def __init__(
        self,
        base_url: str,
        pacing: Pacing,
        sleep: Callable[[float], object] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.pacing = pacing
        self.sleep = sleep
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not secrets)
        self.stats = RequestStats()
        self._lock = threading.Lock()
        self._next_start = 0.0

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        """Send ``request`` to the configured base, retrying 429, 5xx and lost connections."""
        request = self._redirect(request)
        failure = ""
        for attempt in range(self.pacing.retries + 1):
            self._pace()
            try:
                response = super().send(request, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as error:
                self._count(0)
                failure, delay = type(error).__name__, self._backoff(attempt)
            else:
                self._count(response.status_code)
                if not _retried(response.status_code):
                    return response
                failure = f"HTTP {response.status_code}"
                delay = max(self._backoff(attempt), _retry_after(response.headers) or 0.0)
                response.close()
            if attempt < self.pacing.retries:
                self._pause(delay, failure)
        tries = self.pacing.retries + 1
        raise CallApiUnavailableError(f"Plivo's Call API failed {tries} times in a row ({failure})")

    def _redirect(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        url = request.url or ""
        if self.base_url == PLIVO_API_URL or not url.startswith(PLIVO_API_URL):
            return request
        moved = request.copy()
        moved.url = self.base_url + url[len(PLIVO_API_URL) :]
        return moved

    def _pace(self) -> None:
        if self.pacing.rate <= 0:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + 1.0 / self.pacing.rate
        if start > now:
            self.sleep(start - now)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with equal jitter: half fixed, half random."""
        ceiling = min(self.pacing.max_backoff, self.pacing.backoff * 2.0**attempt)
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def _pause(self, delay: float, failure: str) -> None:
        if delay > self.pacing.max_wait:
            raise CallApiUnavailableError(
                f"Plivo's Call API asked to wait {delay:.0f} s ({failure})"
            )
        with self._lock:
            self.stats.retries += 1
            self.stats.waited += delay
        self.sleep(delay)

    def _count(self, status: int) -> None:
        with self._lock:
            self.stats.requests += 1
            self.stats.statuses[status] += 1


def _retried(status: int) -> bool:
    return status == 429 or (status >= 500 and status not in _NOT_RETRIED)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Retry-After in seconds (a number of seconds or an HTTP date), None if absent or bad."""
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(Retry(0).parse_retry_after(value)))
    except InvalidHeader:
        return None
