"""The ``Callback`` value: one webhook as Plivo sent it, plus when it arrived."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from domain.status import CallStatus, parse_status


class CallbackKind(StrEnum):
    """Which of the application's URLs Plivo called; routing is on the URL, never on ``Event``."""

    ANSWER = "answer"
    FALLBACK = "fallback"
    RING = "ring"
    HANGUP = "hangup"
    DIAL_ACTION = "dial_action"
    DIAL_CALLBACK = "dial_callback"


def json_fingerprint(kind: str, params: Mapping[str, str]) -> str:
    """The fingerprint's definition: SHA-256 of ``[kind, sorted params]`` as compact JSON.

    Stored events carry fingerprints made this way, so it must never change: a redelivery
    of a callback stored long ago is recognised by it.
    """
    canonical = json.dumps(
        [kind, sorted(params.items())], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


_NEEDS_ESCAPE_BUT_QUOTE = re.compile(r"[\\\x00-\x1f]").search  # JSON escapes these and '"'
_pair = '","'.join


def fingerprint_of(kind: str, params: Mapping[str, str]) -> str:
    """A digest that is equal for every delivery of the same callback (Plivo retries resend it).

    The kind is part of it: the same parameters at another URL are another callback.
    Byte for byte ``json_fingerprint``: when no key or value holds a character JSON would
    escape (Plivo's never do), the JSON text is assembled directly, at a third of the cost.
    """
    items = sorted(params.items())
    canonical = f'["{kind}",[["' + '"],["'.join(map(_pair, items)) + '"]]]'
    # Assembled as is, the text is the JSON only if no key or value holds a quote (the
    # count tells: the text's own are 2 + 4 per item), a backslash or a control character.
    if (
        not items
        or _NEEDS_ESCAPE_BUT_QUOTE(canonical)
        or canonical.count('"') != 2 + 4 * len(items)
    ):
        return json_fingerprint(kind, params)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def to_int(raw: str | None) -> int | None:
    """A non-negative integer field (``Duration``), or ``None`` when blank or malformed."""
    if raw is None:
        return None
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def shows_answer(params: Mapping[str, str]) -> bool:
    """Whether these params prove the call was answered.

    ``completed`` alone proves nothing (an inbound call can complete unanswered); an
    ``in-progress`` status, an ``AnswerTime`` or a positive ``Duration`` does.
    """
    if parse_status(params.get("CallStatus")) is _IN_PROGRESS:
        return True
    if params.get("AnswerTime", "").strip():
        return True
    duration = params.get("Duration")  # "0" (unanswered) spares the parse
    return duration not in (None, "", "0") and (to_int(duration) or 0) > 0


_IN_PROGRESS = CallStatus.IN_PROGRESS  # an enum class's attribute is slow to look up


@dataclass(frozen=True, slots=True)
class Callback:
    """One received webhook: its kind, verbatim params (blanks kept), and arrival time."""

    kind: CallbackKind
    params: Mapping[str, str]
    received_at: datetime
    fingerprint: str = field(default="")

    @classmethod
    def of(cls, kind: CallbackKind, params: Mapping[str, str], received_at: datetime) -> Callback:
        """Build a callback, computing its fingerprint from kind and params."""
        frozen = dict(params)
        return cls(kind, frozen, received_at, fingerprint_of(kind.value, frozen))

    @property
    def call_uuid(self) -> str:
        """Plivo's ``CallUUID`` (blank if missing: the API rejects such requests)."""
        return self.params.get("CallUUID", "").strip()

    @property
    def status(self) -> CallStatus | None:
        """The documented status this callback reports, if any."""
        return parse_status(self.params.get("CallStatus"))
