"""Webhook parameters: Plivo's form body or query string, decoded with nothing lost.

Blank values are kept (``AnswerTime=`` on an unanswered call is meaningful, and it is
part of the signature), unknown fields are kept verbatim for the audit trail, and a
repeated key the domain does not read keeps every value.

What calltrail cannot store or read back is refused here, before anything is stored, with
the same rule on every store: a NUL character in a name or value (PostgreSQL's text
columns cannot hold one; it is the only character either store refuses, as strict UTF-8
decoding already turns away lone surrogates and overlong forms), a parameter the domain
reads sent twice, and a ``CallUUID`` that could not be used in ``/v1/calls/{call_uuid}``.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from domain.params import READ_PARAMS

MAX_FIELDS = 1000
MAX_CALL_UUID = 200
# Letters, digits, "-", "_" and ".", first a letter or digit (so never "." or ".."): each
# needs no escaping in a URL path segment, so every accepted id reads back at
# /v1/calls/{call_uuid}. Plivo's own are lower-case hex UUIDs.
CALL_UUID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*", re.ASCII)


class FormError(ValueError):
    """The body or query string is not a form calltrail can read; the message says why."""


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
    # Two scans of the raw text in C cost less than a check of every decoded pair; only a
    # form that may hold a NUL (sent raw, or as %00) is searched pair by pair.
    if "\x00" in text or "%00" in text:
        refuse_nul(pairs)
    fields: dict[str, list[str]] = {}
    for key, value in pairs:
        fields.setdefault(key, []).append(value)
    return fields


def named(name: str) -> str:
    """A parameter's name as error messages show it: quoted, escaped, and cut short."""
    return repr(name) if len(name) <= 60 else repr(name[:60]) + "…"


def refuse_nul(pairs: list[tuple[str, str]]) -> None:
    """``FormError`` naming the first parameter with a NUL character in its name or value."""
    for key, value in pairs:
        if "\x00" in key:
            raise FormError(f"the parameter name {named(key)} holds a NUL character (U+0000)")
        if "\x00" in value:
            raise FormError(f"the value of {named(key)} holds a NUL character (U+0000)")


def flatten(fields: dict[str, list[str]]) -> dict[str, str]:
    """One string per key; ``FormError`` naming a parameter the domain reads sent twice.

    Any other repeated key keeps every value, joined by commas in arrival order: the
    domain never reads it, so the join decides nothing, and such keys are the user's own
    (query parameters on the configured URL, custom ``X-PH-`` SIP headers). Refusing
    them would lose a real call's callback, as Plivo does not retry a 4xx by default.
    """
    flat: dict[str, str] = {}
    for key, values in fields.items():
        if len(values) == 1:
            flat[key] = values[0]
        elif key in READ_PARAMS:
            raise FormError(f"{key} is sent {len(values)} times; it must have one value")
        else:
            flat[key] = ",".join(values)
    return flat


def require_call_uuid(params: dict[str, str]) -> str:
    """The ``CallUUID`` of a webhook, or ``FormError`` if it is missing or blank."""
    raw = params.get("CallUUID")
    if raw is None:
        raise FormError("CallUUID is missing")
    call_uuid = raw.strip()
    if not call_uuid:
        raise FormError("CallUUID is blank")
    if len(call_uuid) > MAX_CALL_UUID:
        raise FormError(f"CallUUID is longer than {MAX_CALL_UUID} characters")
    if not CALL_UUID.fullmatch(call_uuid):
        raise FormError(
            "CallUUID must be letters, digits, '-', '_' or '.', starting with a letter or"
            f" digit (a Plivo call UUID); got {named(call_uuid)}"
        )
    return call_uuid
