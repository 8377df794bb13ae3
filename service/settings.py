"""Settings from ``CALLTRAIL_*`` environment variables, validated once at start.

Every bad value is reported, each with the variable's name and what was expected, so a
deployment fails at start with one clear message instead of at the first webhook.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from service.logs import LEVELS
from store.persistence import DEFAULT_DATABASE_URL, Database, DatabaseUrlError, parse_database_url

T = TypeVar("T")

PLIVO_API_URL = "https://api.plivo.com"
"""Plivo's own API, where the plivo SDK sends Call API requests."""
_PLIVO_AUTH_ID = re.compile(r"(MA|SA)[A-Z0-9]{18}")


class SettingsError(ValueError):
    """One or more ``CALLTRAIL_*`` values are invalid; the message lists each."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything calltrail reads from its environment."""

    auth_tokens: tuple[str, ...]
    main_auth_tokens: tuple[str, ...]
    insecure_skip_signature: bool
    public_url: str
    trusted_proxies: tuple[str, ...]
    database: Database
    api_keys: tuple[str, ...]
    metrics_key: str
    dial_numbers: tuple[str, ...]
    dial_sip_users: tuple[str, ...]
    caller_id: str
    dial_timeout: int
    dial_time_limit: int
    greeting: str
    account_timezone: ZoneInfo
    max_body_bytes: int
    mask_numbers: bool
    group_commit: bool
    batch_max: int
    batch_wait_ms: float
    embedded_projections: bool
    read_wait_ms: int
    log_level: str
    max_header_bytes: int
    header_timeout: int
    max_connections: int
    plivo_auth_id: str
    plivo_auth_token: str = field(repr=False)
    plivo_api_url: str
    plivo_api_rate: float
    plivo_api_timeout: float
    session_secret: str = field(repr=False)
    session_minutes: int
    reconcile_every: float  # seconds between reconciliation passes; 0: never
    reconcile_older_than: float  # seconds since a call's latest callback before it is looked up

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate settings; raise ``SettingsError`` naming every bad variable."""
        reader = _Reader(os.environ if env is None else env)
        settings = cls(
            auth_tokens=reader.items("AUTH_TOKEN"),
            main_auth_tokens=reader.items("MAIN_AUTH_TOKEN"),
            insecure_skip_signature=reader.flag("INSECURE_SKIP_SIGNATURE"),
            public_url=reader.parse("PUBLIC_URL", "http://127.0.0.1:8000", _public_url),
            trusted_proxies=reader.items("TRUSTED_PROXIES"),
            database=reader.parse("DATABASE_URL", DEFAULT_DATABASE_URL, parse_database_url),
            api_keys=reader.items("API_KEYS"),
            metrics_key=reader.text("METRICS_KEY"),
            dial_numbers=reader.items("DIAL_NUMBERS"),
            dial_sip_users=reader.items("DIAL_SIP_USERS"),
            caller_id=reader.text("CALLER_ID"),
            dial_timeout=reader.integer("DIAL_TIMEOUT", 30, 1, 3600),
            dial_time_limit=reader.integer("DIAL_TIME_LIMIT", 14400, 1, 86400),
            greeting=reader.text("GREETING"),
            account_timezone=reader.parse("ACCOUNT_TIMEZONE", "UTC", _zone),
            max_body_bytes=reader.integer("MAX_BODY_BYTES", 102_400, 1024, 10_485_760),
            mask_numbers=reader.flag("MASK_NUMBERS"),
            group_commit=reader.choice("GROUP_COMMIT", ("on", "off")) == "on",
            batch_max=reader.integer("BATCH_MAX", 256, 1, 10_000),
            batch_wait_ms=float(reader.integer("BATCH_WAIT_MS", 0, 0, 1000)),
            read_wait_ms=reader.integer("READ_WAIT_MS", 5000, 0, 60_000),
            embedded_projections=reader.choice("PROJECTIONS", ("embedded", "off")) == "embedded",
            log_level=reader.choice("LOG_LEVEL", LEVELS),
            max_header_bytes=reader.integer("MAX_HEADER_BYTES", 16_384, 1024, 1_048_576),
            header_timeout=reader.integer("HEADER_TIMEOUT", 10, 1, 600),
            max_connections=reader.integer("MAX_CONNECTIONS", 1000, 16, 1_000_000),
            plivo_auth_id=reader.parse("PLIVO_AUTH_ID", "", _plivo_auth_id),
            plivo_auth_token=reader.secret("PLIVO_AUTH_TOKEN"),
            plivo_api_url=reader.parse("PLIVO_API_URL", PLIVO_API_URL, _public_url),
            plivo_api_rate=reader.number("PLIVO_API_RATE", 2.0, 0.1, 60.0),
            plivo_api_timeout=reader.number("PLIVO_API_TIMEOUT", 10.0, 1.0, 300.0),
            session_secret=reader.secret("SESSION_SECRET"),
            session_minutes=reader.integer("SESSION_MINUTES", 480, 1, 43_200),
            reconcile_every=reader.parse("RECONCILE_EVERY", "off", _every),
            reconcile_older_than=reader.parse("RECONCILE_OLDER_THAN", "15m", parse_duration),
        )
        if bool(settings.plivo_auth_id) != bool(settings.plivo_auth_token):
            reader.errors.append(
                "CALLTRAIL_PLIVO_AUTH_ID and CALLTRAIL_PLIVO_AUTH_TOKEN: set both, or neither"
            )
        if settings.reconcile_every and not settings.plivo_auth_id:
            reader.errors.append(
                "CALLTRAIL_RECONCILE_EVERY needs CALLTRAIL_PLIVO_AUTH_ID and"
                " CALLTRAIL_PLIVO_AUTH_TOKEN (the Call API's credentials)"
            )
        if reader.errors:
            raise SettingsError("invalid settings:\n  " + "\n  ".join(reader.errors))
        return settings


class _Reader:
    """Reads ``CALLTRAIL_<name>`` values, collecting errors instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.errors: list[str] = []

    def text(self, name: str, default: str = "") -> str:
        return self.env.get(f"CALLTRAIL_{name}", default).strip()

    def secret(self, name: str) -> str:
        """A value never repeated in an error message."""
        return self.text(name)

    def items(self, name: str) -> tuple[str, ...]:
        return tuple(item.strip() for item in self.text(name).split(",") if item.strip())

    def flag(self, name: str) -> bool:
        value = self.text(name, "0").lower()
        if value not in {"0", "1", "true", "false", "yes", "no", ""}:
            self.errors.append(f"CALLTRAIL_{name}={value!r}: expected 1/0, true/false or yes/no")
        return value in {"1", "true", "yes"}

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        value = self.text(name, allowed[0]).lower() or allowed[0]
        if value not in allowed:
            self.errors.append(f"CALLTRAIL_{name}={value!r}: expected one of {', '.join(allowed)}")
            return allowed[0]
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.text(name, str(default)) or str(default)
        if not raw.isdigit() or not low <= int(raw) <= high:
            self.errors.append(f"CALLTRAIL_{name}={raw!r}: expected an integer in {low}..{high}")
            return default
        return int(raw)

    def number(self, name: str, default: float, low: float, high: float) -> float:
        raw = self.text(name) or str(default)
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not low <= value <= high:
            self.errors.append(f"CALLTRAIL_{name}={raw!r}: expected a number in {low:g}..{high:g}")
            return default
        return value

    def parse(self, name: str, default: str, parser: Callable[[str], T]) -> T:
        raw = self.text(name, default) or default
        try:
            return parser(raw)
        except ValueError as error:
            self.errors.append(f"CALLTRAIL_{name}={raw!r}: {error}")
            return parser(default)


_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(s|m|h|d)?")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(raw: str) -> float:
    """Seconds in a duration: ``90``, ``30s``, ``15m``, ``2h``, ``1d``; ``ValueError`` if not."""
    match = _DURATION.fullmatch(raw.strip().lower())
    if match is None:
        raise ValueError(f"expected a duration such as 30s, 15m, 2h or 1d, got {raw[:32]!r}")
    return float(match[1]) * _UNITS[match[2] or "s"]


def _every(raw: str) -> float:
    """A period of at least a minute, or ``off``/``0`` for never."""
    if raw.strip().lower() in ("off", "0", ""):
        return 0.0
    seconds = parse_duration(raw)
    if seconds < 60:
        raise ValueError("expected off, or a period of at least 1m")
    return seconds


def _public_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError("expected http(s)://host[:port][/prefix] with no query or fragment")
    return raw.rstrip("/")


def _plivo_auth_id(raw: str) -> str:
    if raw and not _PLIVO_AUTH_ID.fullmatch(raw):
        raise ValueError("expected a Plivo auth id: MA or SA and 18 capital letters or digits")
    return raw


def _zone(raw: str) -> ZoneInfo:
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("expected an IANA time zone name such as Asia/Kolkata") from None


__all__ = ["Database", "DatabaseUrlError", "Settings", "SettingsError"]
