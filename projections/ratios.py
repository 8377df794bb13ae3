"""Call KPIs over any set of counter rows: ASR, NER, ACD and post-dial delay percentiles.

Each ratio returns ``None`` ("no data") when its denominator is below ``min_count``,
so a quiet hour never shows a misleading 0 % or 100 %.

- **ASR** (answer-seizure ratio) = answered calls / attempts. Attempts are all ended
  calls of the scope (every seizure, cancelled ones included).
- **NER** (network effectiveness ratio) = (answered + unanswered calls whose cause is a
  user outcome: busy, no answer, rejected, declined) / attempts; causes are categorised by
  ``HangupCauseCode`` (``domain.hangup_causes``). Always ASR ≤ NER ≤ 1.
- **ACD** (average call duration) = talk seconds (``Duration``) / answered calls.
- **PDD p50/p95**: from the post-dial-delay histogram; the value is the upper bound of
  the bucket holding the percentile (Plivo times have 1 s resolution, so this is coarse).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from domain.hangup_causes import CauseCategory, lookup
from projections.hangup_metrics import PDD_BOUNDS


@dataclass(frozen=True, slots=True)
class CounterRow:
    """One counter row of the metrics view, as the ratios need it."""

    status: str
    cause_code: str
    calls: int
    answered: int
    talk_seconds: int
    pdd: tuple[int, ...] = ()
    # Whether the cause is the callee's doing, when the store already told (rows summed
    # over many causes); else found from ``cause_code``.
    user_outcome: bool | None = None


@dataclass(frozen=True, slots=True)
class Kpis:
    """KPIs of a set of calls; a ratio is ``None`` when there is too little data."""

    attempts: int
    answered: int
    asr: float | None
    ner: float | None
    acd: float | None
    pdd_p50: float | None
    pdd_p95: float | None


@functools.lru_cache(maxsize=1024)
def user_outcome(cause_code: str) -> bool:
    """Whether a counter's cause is the callee's doing (busy, no answer, rejected...).
    Cached: a KPI read over a long range meets the same few codes in every hour."""
    return lookup(cause_code).category is CauseCategory.USER


def kpis(rows: Iterable[CounterRow], min_count: int = 1) -> Kpis:
    """Compute every KPI over ``rows`` (already filtered to a time range and scope)."""
    attempts = answered = effective = talk = 0
    histogram = [0] * len(PDD_BOUNDS)
    for row in rows:
        attempts += row.calls
        answered += row.answered
        talk += row.talk_seconds
        user = row.user_outcome
        if user if user is not None else user_outcome(row.cause_code):
            effective += row.calls - row.answered
        for i, count in enumerate(row.pdd):
            histogram[i] += count
    return Kpis(
        attempts=attempts,
        answered=answered,
        asr=ratio(answered, attempts, min_count),
        ner=ratio(answered + effective, attempts, min_count),
        acd=ratio(talk, answered, min_count),
        pdd_p50=percentile(histogram, 0.50, min_count),
        pdd_p95=percentile(histogram, 0.95, min_count),
    )


def ratio(part: int, whole: int, min_count: int = 1) -> float | None:
    """``part / whole``, or ``None`` when ``whole`` is below ``min_count`` (or zero)."""
    if whole < max(min_count, 1):
        return None
    return part / whole


def percentile(histogram: list[int], quantile: float, min_count: int = 1) -> float | None:
    """The upper bound (seconds) of the histogram bucket holding ``quantile``.

    The open last bucket reports the last finite bound (a lower bound of the truth).
    """
    total = sum(histogram)
    if total < max(min_count, 1):
        return None
    target = quantile * total
    running = 0
    for count, bound in zip(histogram, PDD_BOUNDS, strict=True):
        running += count
        if running >= target and count:
            return bound if bound != float("inf") else PDD_BOUNDS[-2]
    return PDD_BOUNDS[-2]
