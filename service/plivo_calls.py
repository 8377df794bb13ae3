"""Plivo's Call API as reconciliation needs it, through the plivo SDK's own client.

Three questions: what is the record of this call (``calls.get``; a 404 means not
written yet, so "ask again later"), which calls ended in this window (``calls.list``,
every page, by ``end_time``), and is this call still up (``live_calls``). Records come
back as the Call API's JSON objects, verbatim but for the response's ``api_id``.

The client is paced (``CALLTRAIL_PLIVO_API_RATE``, 2 requests/s by default). Plivo allows
an account 300 non-call API requests per 5 seconds, shared by every application and
subaccount on it, and answers 429 past that; 2/s is under 4% of that budget, so
reconciling never throttles the account's live traffic (transfers, hangups, recordings),
and still looks up 7,200 calls an hour, or lists 144,000 (20 records a request).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import plivo
from plivo import exceptions as sdk

from service.plivo_transport import (
    CallApiError,
    CallApiUnavailableError,
    Pacing,
    PlivoTransport,
    RequestStats,
)
from service.settings import PLIVO_API_URL, Settings

Record = dict[str, Any]
"""One call detail record, as the Call API's JSON object."""

MAX_WINDOW = timedelta(days=30)  # the widest end_time range the Call API accepts
PAGE = 20  # the most records the Call API gives in one page
_SDK_ATTRIBUTES = frozenset({"api_id", "client", "_name"})


class CallApiAuthError(CallApiError):
    """The Call API refused the credentials (HTTP 401)."""


@dataclass(frozen=True, slots=True)
class CallApiOptions:
    """Credentials, base URL, timeout and pacing of the client."""

    auth_id: str
    auth_token: str = field(repr=False)
    url: str = PLIVO_API_URL
    timeout: float = 10.0  # seconds per HTTP request
    pacing: Pacing = field(default_factory=Pacing)


def call_api_options(settings: Settings) -> CallApiOptions | None:
    """The client's options from ``CALLTRAIL_PLIVO_*``; None without credentials."""
    if not settings.plivo_auth_id:
        return None
    return CallApiOptions(
        settings.plivo_auth_id,
        settings.plivo_auth_token,
        settings.plivo_api_url,
        settings.plivo_api_timeout,
        Pacing(rate=settings.plivo_api_rate),
    )


class CallApi:
    """A plivo SDK client on a paced, retrying transport pointed at ``options.url``."""

    def __init__(self, options: CallApiOptions, transport: PlivoTransport | None = None) -> None:
        self.transport = transport or PlivoTransport(options.url, options.pacing)
        try:
            self.client = plivo.RestClient(
                options.auth_id, options.auth_token, timeout=options.timeout
            )
        except sdk.AuthenticationError as error:  # the SDK checks the auth id's form
            raise CallApiAuthError(str(error)) from None
        for session in (self.client.session, self.client.multipart_session):
            session.mount(PLIVO_API_URL + "/", self.transport)

    @property
    def stats(self) -> RequestStats:
        """Every HTTP request sent so far, retries included."""
        return self.transport.stats

    def lookup(self, call_uuid: str) -> Record | None:
        """The call's record, or None when Plivo has none (yet: records lag the hangup)."""
        with _answers():
            try:
                return _record(self.client.calls.get(call_uuid))
            except sdk.ResourceNotFoundError:
                return None

    def is_live(self, call_uuid: str) -> bool:
        """Whether the call is up now (``live_calls.get`` finds it)."""
        with _answers():
            try:
                self.client.live_calls.get(call_uuid)
            except sdk.ResourceNotFoundError:
                return False
            return True

    def live_ids(self) -> set[str]:
        """The UUIDs of every call up now, page by page."""
        found: set[str] = set()
        with _answers():
            for offset in range(0, 100_000, PAGE):
                ids = list(self.client.live_calls.list_ids(limit=PAGE, offset=offset)["calls"])
                found.update(ids)
                if len(ids) < PAGE:
                    break
        return found

    def ended_between(self, since: datetime, until: datetime) -> Iterator[Record]:
        """Every record whose call ended in ``[since, until)``, each once, oldest window first.

        Windows wider than the Call API's 30 days are asked for in 30-day parts. Give an
        ``until`` in the past: records are listed newest first, so calls ending while a
        window is paged would shift its pages.
        """
        seen: set[str] = set()
        start = since
        while start < until:
            end = min(until, start + MAX_WINDOW)
            for record in self._pages(_utc(start), _utc(end)):
                if record["call_uuid"] not in seen:
                    seen.add(record["call_uuid"])
                    yield record
            start = end

    def _pages(self, since: str, until: str) -> Iterator[Record]:
        where: dict[str, Any] = {"limit": PAGE, "offset": 0}
        while True:
            with _answers():
                page = self.client.calls.list(end_time__gte=since, end_time__lt=until, **where)
            yield from (_record(item) for item in page.objects)
            following = _next_page(getattr(getattr(page, "meta", None), "next", None), where)
            if following is None or following == where:
                return
            where = following

    def close(self) -> None:
        """Close the client's connections."""
        self.client.session.close()
        self.client.multipart_session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@contextmanager
def _answers() -> Iterator[None]:
    """The SDK's errors as this module's: credentials refused, request refused."""
    try:
        yield
    except sdk.AuthenticationError:
        raise CallApiAuthError(
            "Plivo's Call API refused the credentials (HTTP 401): check"
            " CALLTRAIL_PLIVO_AUTH_ID and CALLTRAIL_PLIVO_AUTH_TOKEN"
        ) from None
    except (sdk.ResourceNotFoundError, CallApiError):
        raise
    except sdk.PlivoRestError as error:
        raise CallApiError(f"Plivo's Call API refused the request: {error}") from None


def _record(item: Any) -> Record:
    """A record from the SDK's response object, without the SDK's attributes."""
    return {k: _plain(v) for k, v in vars(item).items() if k not in _SDK_ATTRIBUTES}


def _plain(value: Any) -> Any:
    if hasattr(value, "__dict__"):
        return {k: _plain(v) for k, v in vars(value).items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _next_page(next_url: str | None, where: dict[str, Any]) -> dict[str, Any] | None:
    """The paging of ``meta.next``: its limit and its cursor or offset; None at the end."""
    if not next_url:
        return None
    query = {k: v[0] for k, v in parse_qs(urlsplit(next_url).query).items()}
    limit = int(query.get("limit", where["limit"]))
    if query.get("cursor"):
        return {"limit": limit, "cursor": query["cursor"], "offset": None}
    if query.get("offset", "").isdigit():
        return {"limit": limit, "offset": int(query["offset"])}
    return None


def _utc(moment: datetime) -> str:
    """An ``end_time`` filter value: UTC, as the Call API expects."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


__all__ = [
    "CallApi",
    "CallApiAuthError",
    "CallApiError",
    "CallApiOptions",
    "CallApiUnavailableError",
    "Pacing",
    "Record",
    "RequestStats",
    "call_api_options",
]
