"""Webhook parameters: Plivo's form body or query string, decoded with nothing lost.

Blank values are kept (``AnswerTime=`` on an unanswered call is meaningful, and it is
part of the signature), unknown fields are kept verbatim for the audit trail, and a
repeated key keeps every value.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import msgspec

MAX_FIELDS = 1000


class FormError(ValueError):
    """The body or query string is not a form calltrail can read; the message says why."""


class PlivoCallFields(msgspec.Struct, rename="pascal", forbid_unknown_fields=False):
    """The fields calltrail requires of every call webhook, under Plivo's names."""

    call_uuid: str = msgspec.field(name="CallUUID")


_fields = msgspec.convert


def parse_form(raw: bytes) -> dict[str, list[str]]:
    """Decode ``application/x-www-form-urlencoded`` bytes into every value of every key."""
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=False,
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError:
        raise FormError("the form is not valid UTF-8 (after percent-decoding)") from None
    except ValueError as error:
        raise FormError(f"the form could not be parsed: {error}") from None
    fields: dict[str, list[str]] = {}
    for key, value in pairs:
        fields.setdefault(key, []).append(value)
    return fields


def flatten(fields: dict[str, list[str]]) -> dict[str, str]:
    """One string per key: a repeated key's values joined by commas, in arrival order."""
    return {
        key: values[0] if len(values) == 1 else ",".join(values) for key, values in fields.items()
    }


def require_call_uuid(params: dict[str, str]) -> str:
    """The ``CallUUID`` of a webhook, or ``FormError`` if it is missing or blank."""
    try:
        fields = _fields(params, PlivoCallFields)
    except msgspec.ValidationError:
        raise FormError("CallUUID is missing") from None
    call_uuid = fields.call_uuid.strip()
    if not call_uuid:
        raise FormError("CallUUID is blank")
    if len(call_uuid) > 200:
        raise FormError("CallUUID is longer than 200 characters")
    return call_uuid
