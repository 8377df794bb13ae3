"""Times as calltrail stores and shows them: Plivo's account-local texts read in the
account's zone, and UTC instants kept as integer microseconds since the epoch (compact,
and ordered the same on both stores)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    """An aware datetime as microseconds since the epoch."""
    return (moment - EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """Microseconds since the epoch as a UTC datetime."""
    return EPOCH + timedelta(microseconds=micros)


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MOMENT_HELP = (
    "RFC 3339 (2026-12-02T08:00:00Z; no offset means UTC) or a date (2026-12-02, midnight UTC)"
)


def parse_moment(text: str) -> datetime:
    """A time as users give it (``MOMENT_HELP``), as an aware UTC datetime; ``ValueError``
    if it is neither form or falls outside the years 1 to 9999 once in UTC."""
    try:
        if _DATE.fullmatch(text):
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expected {MOMENT_HELP}, got {text[:64]!r}") from None
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text[:64]!r} is outside the years 1 to 9999 in UTC") from None


def plivo_micros(text: str, zone: tzinfo) -> int | None:
    """A Plivo time (``YYYY-MM-DD HH:MM:SS``, local to ``zone``) as microseconds since the
    epoch; ``None`` if blank or unreadable."""
    moment = plivo_time(text, zone) if text else None
    return None if moment is None else to_micros(moment)


# Plivo's own form in ASCII digits, read by the C parser. Anything else (other digits,
# signs, blanks, which ``int`` also reads) takes the slicing path below.
PLAIN_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-5][0-9](?:\.[0-9]+)?")


def plivo_time(text: str, zone: tzinfo) -> datetime | None:
    """``YYYY-MM-DD HH:MM:SS[.ffffff]`` in ``zone``, or ``None``."""
    if PLAIN_TIME.fullmatch(text):
        try:
            if zone is UTC:  # ``replace(tzinfo=…)`` cost six times the parse
                return datetime.fromisoformat(f"{text}+00:00")
            return datetime.fromisoformat(text).replace(tzinfo=zone)
        except ValueError:  # no such day or hour
            return None
    return sliced_time(text, zone)


def sliced_time(text: str, zone: tzinfo) -> datetime | None:
    """``plivo_time`` by slicing and ``int``: strptime dominated replays."""
    try:
        whole, _, fraction = text.partition(".")
        if len(whole) != 19 or whole[4] != "-" or whole[10] != " " or whole[13] != ":":
            return None
        micros = int(fraction.ljust(6, "0")[:6]) if fraction else 0
        return datetime(
            int(whole[0:4]),
            int(whole[5:7]),
            int(whole[8:10]),
            int(whole[11:13]),
            int(whole[14:16]),
            int(whole[17:19]),
            micros,
            tzinfo=zone,
        )
    except ValueError:
        return None
