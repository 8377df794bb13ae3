"""KPIs against hand-computed examples, and their invariants."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from projections.hangup_metrics import PDD_BOUNDS
from projections.ratios import CounterRow, kpis, percentile, ratio

NO_PDD = (0,) * len(PDD_BOUNDS)


def test_hand_computed_day() -> None:
    # 8 answered (talk 480 s), 3 busy, 2 no answer, 1 rejected, 4 network failures, 2 cancelled.
    rows = [
        CounterRow("completed", "4000", 8, 8, 480, (0, 2, 4, 2, *NO_PDD[4:])),
        CounterRow("busy", "3010", 3, 0, 0),
        CounterRow("no-answer", "3000", 2, 0, 0),
        CounterRow("completed", "3020", 1, 0, 0),
        CounterRow("failed", "2000", 3, 0, 0),
        CounterRow("failed", "5020", 1, 0, 0),
        CounterRow("cancel", "1000", 2, 0, 0),
    ]
    result = kpis(rows)
    assert (result.attempts, result.answered) == (20, 8)
    assert result.asr == 8 / 20
    assert result.ner == (8 + 3 + 2 + 1) / 20
    assert result.acd == 60.0
    assert (result.pdd_p50, result.pdd_p95) == (3, 4)


def test_empty_input_is_no_data_not_zero() -> None:
    result = kpis([])
    assert (result.asr, result.ner, result.acd, result.pdd_p50) == (None, None, None, None)


def test_below_the_minimum_count_is_no_data() -> None:
    rows = [CounterRow("completed", "4000", 3, 3, 90)]
    assert kpis(rows, min_count=5).asr is None
    assert kpis(rows, min_count=3).asr == 1.0
    assert ratio(1, 0) is None


def test_the_open_pdd_bucket_reports_its_lower_bound() -> None:
    histogram = [0] * len(PDD_BOUNDS)
    histogram[-1] = 4
    assert percentile(histogram, 0.5) == PDD_BOUNDS[-2]


rows_strategy = st.lists(
    st.builds(
        lambda status, code, calls, answered_share, talk: CounterRow(
            status, code, calls, min(calls, answered_share), talk
        ),
        st.sampled_from(["completed", "busy", "no-answer", "failed", "cancel", "timeout"]),
        st.sampled_from(["4000", "3000", "3010", "3020", "2000", "5000", "1000", "0", "77777", ""]),
        st.integers(0, 50),
        st.integers(0, 50),
        st.integers(0, 10_000),
    ),
    max_size=30,
)


@given(rows_strategy)
def test_asr_never_exceeds_ner_and_both_stay_in_range(rows: list[CounterRow]) -> None:
    result = kpis(rows)
    if result.attempts == 0:
        assert result.asr is None
        assert result.ner is None
        return
    assert result.asr is not None
    assert result.ner is not None
    assert 0 <= result.asr <= result.ner <= 1
