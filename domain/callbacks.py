"""The ``Callback`` value: one webhook as Plivo sent it, plus when it arrived."""

from __future__ import annotations

import hashlib
import json
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


def fingerprint_of(kind: str, params: Mapping[str, str]) -> str:
    """A digest that is equal for every delivery of the same callback (Plivo retries resend it).

    The kind is part of it: the same parameters at another URL are another callback.
    """
    canonical = json.dumps(
        [kind, sorted(params.items())], ensure_ascii=False, separators=(",", ":")
    )
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
