"""Phone numbers hidden in console pages when ``CALLTRAIL_MASK_NUMBERS=1``.

The read contract masks a call's own numbers and the ``From``, ``To`` and ``DialBLegTo``
parameters; the console also hides every other parameter that carries a number or a
caller's name (``DialBLegFrom``, ``ForwardedFrom``, ``CallerName``, ...), since a page is
read by people over a shoulder.
"""

from __future__ import annotations

from collections.abc import Mapping

from projections.queries import mask

_ENDINGS = ("From", "To", "Number", "Name")
_EXCEPT = frozenset({"HangupCauseName", "DialBLegHangupCauseName", "MPCName"})


def number_param(name: str) -> bool:
    """Whether a Plivo parameter named ``name`` holds a phone number or a caller's name."""
    if name in _EXCEPT:
        return False
    return name.endswith(_ENDINGS) or "Caller" in name


def masked_params(params: Mapping[str, str], on: bool) -> dict[str, str]:
    """``params`` with every number hidden but its last four characters, when ``on``."""
    if not on:
        return dict(params)
    return {
        name: (mask(value, True) or "") if number_param(name) else value
        for name, value in params.items()
    }
