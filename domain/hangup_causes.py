"""Plivo hangup causes: the documented ``HangupCauseCode`` table and a lookup that never fails.

Metrics key on the numeric code, not on the ``HangupCause`` text, which is ambiguous
(FreeSWITCH/Q.850 names, spelling changes between pages). Codes that are not in the
table are data, stored as they come: ``lookup`` answers them with an ``UNKNOWN`` entry
instead of raising. Names and meanings are copied from the reference
(``plivo-callbacks.md`` section 3.2), blanks included.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class CauseCategory(StrEnum):
    """How a hangup cause counts in call metrics (answered, NER, failures)."""

    ANSWERED = "answered"  # the call was answered; the end itself says nothing bad
    USER = "user"  # the network reached the callee, who did not take the call
    NETWORK = "network"  # the network, carrier, Plivo or destination failed the call
    CANCELLED = "cancelled"  # the call was withdrawn before it was a real attempt
    APPLICATION = "application"  # the customer's own webhook server or XML failed
    UNKNOWN = "unknown"  # code 0, or a code the table does not list


@dataclass(frozen=True, slots=True)
class HangupCause:
    """One hangup cause: Plivo's code, name and meaning, with calltrail's category."""

    code: int
    name: str
    meaning: str
    category: CauseCategory


_A = CauseCategory.ANSWERED
_U = CauseCategory.USER
_N = CauseCategory.NETWORK
_C = CauseCategory.CANCELLED
_E = CauseCategory.APPLICATION  # E for "error of the application"
_X = CauseCategory.UNKNOWN

CAUSES: Mapping[int, HangupCause] = MappingProxyType(
    {
        # Plivo itself says 0 is undetermined, and a known bug (the "Delete All Calls"
        # API) sets it, so it must not be counted as any real outcome.
        0: HangupCause(
            0, "Unknown", 'undetermined (known bug: the "Delete All Calls" API sets it)', _X
        ),
        1000: HangupCause(1000, "Canceled", "cancelled by the Hangup Call API before answer", _C),
        # Out of credit and the dial limit are account-side refusals before any attempt
        # reached the network, so they must not lower NER.
        1010: HangupCause(1010, "Canceled (Out Of Credits)", "account out of credit", _C),
        1020: HangupCause(
            1020,
            "Canceled (Simultaneous dial limit reached)",
            "too many concurrent dials to one destination",
            _C,
        ),
        # Barring, loops and media anchoring are refusals by the network or its rules.
        2000: HangupCause(2000, "Invalid Destination Address", "bad number or SIP endpoint", _N),
        2010: HangupCause(2010, "Destination Out Of Service", "destination unavailable", _N),
        2020: HangupCause(
            2020, "Endpoint Not Registered", "SIP endpoint unregistered or unreachable", _N
        ),
        2030: HangupCause(2030, "Destination Country Barred", "blocked by geo permissions", _N),
        2040: HangupCause(2040, "Destination Number Barred", "premium-rate blocked", _N),
        2050: HangupCause(2050, "Destination Prefix Barred", "prefix not permitted", _N),
        2060: HangupCause(2060, "Loop Detected", "B leg would redial the A leg's number", _N),
        2070: HangupCause(2070, "Violates Media Anchoring", "India PSTN regulation", _N),
        # No answer, busy and rejected prove the network delivered the call to the callee:
        # the classic NER "user" outcomes.
        3000: HangupCause(3000, "No Answer", "destination unavailable or unreachable", _U),
        3010: HangupCause(3010, "Busy Line", "destination busy", _U),
        3020: HangupCause(3020, "Rejected", "called party rejected", _U),
        # Caller-id, forbidden and spam blocks are decided by carriers, not by the callee,
        # so they count against the network even though they sit among the 3xxx codes.
        3030: HangupCause(3030, "Unknown Caller ID", "non-Plivo number used as caller id", _N),
        3040: HangupCause(3040, "Forbidden", "destination blocked the call", _N),
        3050: HangupCause(3050, "Unallocated number", "destination invalid or out of service", _N),
        3070: HangupCause(3070, "Request timeout", "carrier did not respond in time", _N),
        3080: HangupCause(3080, "Internal server error from carrier", "carrier error", _N),
        3090: HangupCause(3090, "Network congestion from carrier", "carrier overloaded", _N),
        3100: HangupCause(3100, "Busy everywhere", "all destination endpoints busy", _U),
        3110: HangupCause(3110, "Declined", "destination won't participate", _U),
        3120: HangupCause(3120, "User does not exist anywhere", "no such user", _N),
        3130: HangupCause(3130, "Spam block", "carrier spam flag", _N),
        3140: HangupCause(3140, "DNO Caller ID", "caller id on the Do Not Originate list", _N),
        4000: HangupCause(4000, "Normal Hangup", "normal end", _A),
        4010: HangupCause(
            4010, "End Of XML Instructions", "XML ran out; normal for XML-driven calls", _A
        ),
        4020: HangupCause(4020, "Multiparty Call Ended", "MPC ended by API or max duration", _A),
        4030: HangupCause(4030, "Kicked Out Of Multiparty Call", "participant removed by API", _A),
        # Not in Plivo's table: these reach the Dial action URL as DialHangupCause with
        # DialStatus failed / timeout. The dialled SIP endpoint could not be reached, so
        # network, like 2020 Endpoint Not Registered.
        4240: HangupCause(4240, "sip_auth_failed", "SIP authentication failed", _N),
        4250: HangupCause(4250, "sip_auth_timeout", "SIP authentication timed out", _N),
        # Plivo's own errors count as network: for the customer Plivo is the network.
        5000: HangupCause(5000, "Network Error", "fatal network condition", _N),
        5010: HangupCause(5010, "Internal Error", "Plivo system error", _N),
        5020: HangupCause(5020, "Routing Error", "could not route", _N),
        # time_limit and media timeout only run on an established call, so it was answered.
        6000: HangupCause(6000, "Scheduled Hangup", "`time_limit`/`timeLimit` reached", _A),
        # The destination rang until the timeout: the same outcome as no answer.
        6010: HangupCause(
            6010,
            "Ring Timeout Reached",
            "not answered within `ring_timeout`/Dial `timeout` (default 120 s)",
            _U,
        ),
        6020: HangupCause(6020, "Media Timeout", "no media packets for 60 s", _A),
        # 7xxx/8xxx are faults of the customer's webhook server or XML; they say nothing
        # about the network and must not lower NER.
        7011: HangupCause(
            7011, "Error Reaching Answer URL", "non-2xx (or no response) from the answer URL", _E
        ),
        7012: HangupCause(
            7012,
            "Error Reaching Action URL",
            "same, on an action URL (fails the call only if `redirect=true`)",
            _E,
        ),
        7013: HangupCause(7013, "Error Reaching Transfer URL", "", _E),
        7014: HangupCause(7014, "Error Reaching Redirect URL", "", _E),
        7022: HangupCause(7022, "Invalid Action URL", "not `http(s)://`", _E),
        7023: HangupCause(7023, "Invalid Transfer URL", "", _E),
        7024: HangupCause(7024, "Invalid Redirect URL", "", _E),
        7032: HangupCause(7032, "Invalid Method For Action URL", "not GET/POST", _E),
        7033: HangupCause(7033, "Invalid Method For Transfer URL", "", _E),
        7034: HangupCause(7034, "Invalid Method For Redirect URL", "", _E),
        8011: HangupCause(8011, "Invalid Answer XML", "answer URL returned invalid XML", _E),
        8012: HangupCause(
            8012,
            "Invalid Action XML",
            "action URL returned invalid XML (only with `redirect=true`)",
            _E,
        ),
        8013: HangupCause(8013, "Invalid Transfer XML", "", _E),
        8014: HangupCause(8014, "Invalid Redirect XML", "", _E),
        # A leg that lost a parallel dial was withdrawn because another leg won: counting
        # it as an attempt would penalise every simultaneous dial.
        9000: HangupCause(9000, "Lost Race", "another parallel B leg answered first", _C),
        # A machine or a callee who skipped the confirm key still answered the call.
        9100: HangupCause(
            9100, "Machine Detected", "answering machine, with `machine_detection=hangup`", _A
        ),
        9110: HangupCause(
            9110, "Confirm Key Challenge Failed", "callee did not press `confirmKey`", _A
        ),
    }
)
"""Every documented code (reference section 3.2, plus 4240/4250), keyed by code; read-only."""

SOURCES: frozenset[str] = frozenset(
    {"Caller", "Callee", "Plivo", "Carrier", "API Request", "Answer XML", "Error", "Unknown"}
)
"""The documented ``HangupSource`` values, for information only: others are still data."""

# ASCII digits only: ``int`` alone would also take "4_000" or non-ASCII digits, which no
# webhook sends and which would make two different raw strings the same code.
_INTEGER = re.compile(r"[+-]?[0-9]+")


def _parse(code: str | int | None) -> int | None:
    """Return the integer a raw code stands for, or ``None`` if it is not one."""
    if isinstance(code, int):
        return int(code)  # int() also turns a bool into a plain int
    if not isinstance(code, str):
        return None
    text = code.strip()
    if _INTEGER.fullmatch(text) is None:
        return None
    try:
        return int(text)
    except ValueError:  # longer than Python's int-from-string digit limit
        return None


def integer_code(code: str | int | None) -> int | None:
    """The integer a raw ``HangupCauseCode`` stands for, if it is one that fits 32 bits
    (what the read contract and both stores carry); ``None`` otherwise."""
    parsed = _parse(code)
    if parsed is None or not -(2**31) <= parsed < 2**31:
        return None
    return parsed


def lookup(code: str | int | None) -> HangupCause:
    """Return the cause for a raw ``HangupCauseCode`` (a webhook string, an int or ``None``).

    Never raises. A code in ``CAUSES`` returns its entry; anything else (blank, not a
    number, not in the table) returns an ``UNKNOWN`` cause named "Unknown" whose code is
    the parsed integer, or -1 when the input is not an integer at all.
    """
    parsed = _parse(code)
    if parsed is not None and parsed in CAUSES:
        return CAUSES[parsed]
    if parsed is None:
        return HangupCause(-1, "Unknown", "not an integer code", CauseCategory.UNKNOWN)
    return HangupCause(parsed, "Unknown", "code not in Plivo's table", CauseCategory.UNKNOWN)


def counts_for_ner(category: CauseCategory) -> bool:
    """Tell whether a cause counts as network-effective for NER.

    NER (network effectiveness ratio) = (answered + user busy + no answer + rejected)
    / attempts: the share of attempts the network delivered to the callee, whatever the
    callee did. True for ``ANSWERED`` and ``USER`` only.
    """
    return category in (CauseCategory.ANSWERED, CauseCategory.USER)
