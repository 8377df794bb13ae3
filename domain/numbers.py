"""Phone numbers as one call's callbacks report them, made comparable.

Plivo's ``From`` gains or loses its leading ``+`` between callbacks of one call
(``918035735900`` and ``+918035735900``), and its numbers always carry the country code.
Summaries and filters use the E.164 form; the verbatim value stays in the timeline.
"""

from __future__ import annotations

_SEPARATORS = str.maketrans("", "", " -().")


def e164(raw: str) -> str:
    """``+`` and the digits for a telephone number (separators dropped); anything else
    (a SIP URI, ``Anonymous``, a blank) stripped but otherwise as it came."""
    text = raw.strip()
    digits = text.translate(_SEPARATORS)
    if digits.startswith("+"):
        digits = digits[1:]
    if digits and digits.isascii() and digits.isdigit():
        return f"+{digits}"
    return text
