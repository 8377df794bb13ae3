"""Console sessions: a signed, expiring cookie given for a key of ``CALLTRAIL_API_KEYS``.

The cookie holds ``<expiry>.<key id>.<signature>``: the expiry in Unix seconds, the id of
the key signed in with (12 hex digits of its SHA-256, never the key), and an HMAC-SHA256
of both. A session is good until its expiry while its key is still configured, so taking
a key out of ``CALLTRAIL_API_KEYS`` ends the sessions it opened.

The signing secret is ``CALLTRAIL_SESSION_SECRET``; without it, one is derived from the
API keys, so every worker and every restart agrees on it without another setting.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from hashlib import sha256

from service.settings import Settings

COOKIE = "calltrail_console"
_DERIVED = b"calltrail console session\x00"


def key_id(key: str) -> str:
    """A short, stable id of an API key: 12 hex digits of its SHA-256 (as the access log)."""
    return sha256(key.encode()).hexdigest()[:12]


def secret_of(settings: Settings) -> bytes:
    """The signing secret: CALLTRAIL_SESSION_SECRET, else derived from the API keys."""
    if settings.session_secret:
        return settings.session_secret.encode()
    return sha256(_DERIVED + "\x00".join(sorted(settings.api_keys)).encode()).digest()


def known_key(keys: tuple[str, ...], given: str) -> str | None:
    """The key of ``keys`` equal to ``given`` (every key compared in constant time)."""
    found = None
    supplied = given.strip().encode()
    for key in keys:
        if hmac.compare_digest(key.encode(), supplied) and supplied:
            found = key
    return found


@dataclass(frozen=True, slots=True)
class Sessions:
    """Issues and checks session cookies for one configuration."""

    secret: bytes
    keys: tuple[str, ...]
    minutes: int

    @classmethod
    def of(cls, settings: Settings) -> Sessions:
        """The sessions of ``settings``."""
        return cls(secret_of(settings), settings.api_keys, settings.session_minutes)

    def _sign(self, payload: str) -> str:
        return hmac.new(self.secret, payload.encode(), sha256).hexdigest()

    def issue(self, key: str, now: float | None = None) -> str:
        """A cookie value for a session opened with ``key``, good for ``minutes``."""
        expires = int((time.time() if now is None else now) + self.minutes * 60)
        payload = f"{expires}.{key_id(key)}"
        return f"{payload}.{self._sign(payload)}"

    def valid(self, cookie: str | None, now: float | None = None) -> bool:
        """Whether ``cookie`` is a session this configuration issued, unexpired, whose key
        is still configured."""
        if not cookie or cookie.count(".") != 2:
            return False
        expires, kid, signature = cookie.split(".")
        if not hmac.compare_digest(self._sign(f"{expires}.{kid}"), signature):
            return False
        if not expires.isdigit() or int(expires) <= (time.time() if now is None else now):
            return False
        return any(hmac.compare_digest(key_id(key), kid) for key in self.keys)
