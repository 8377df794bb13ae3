"""Every (current, reported) pair of ``classify`` against a hand-written verdict matrix."""

from __future__ import annotations

import pytest

from domain.status import RANK, TERMINAL, TRANSITIONS, CallStatus, Verdict, classify, parse_status

S = CallStatus
COLUMNS = [None, *S]  # reported: unknown/blank, then each documented status
# Rows: the call's current status. Letters: Advanced, Repeated, Late, Conflict, Unrecognised.
MATRIX = {
    None: "UAAAAAAAA",
    S.RINGING: "URAAAAAAA",
    S.IN_PROGRESS: "ULRAAAAAA",
    S.COMPLETED: "ULLRCCCCC",
    S.BUSY: "ULLCRCCCC",
    S.NO_ANSWER: "ULLCCRCCC",
    S.CANCEL: "ULLCCCRCC",
    S.TIMEOUT: "ULLCCCCRC",
    S.FAILED: "ULLCCCCCR",
}
LETTER = {
    "A": Verdict.ADVANCED,
    "R": Verdict.REPEATED,
    "L": Verdict.LATE,
    "C": Verdict.CONFLICT,
    "U": Verdict.UNRECOGNISED,
}
PAIRS = [
    (current, reported, LETTER[row[i]])
    for current, row in MATRIX.items()
    for i, reported in enumerate(COLUMNS)
]


@pytest.mark.parametrize(("current", "reported", "expected"), PAIRS)
def test_classify(current: S | None, reported: S | None, expected: Verdict) -> None:
    assert classify(current, reported) is expected


def test_matrix_covers_every_status() -> None:
    assert list(S) == COLUMNS[1:]
    assert set(MATRIX) == {None, *S}
    assert len(PAIRS) == 81


def test_terminal_statuses_have_no_way_out() -> None:
    assert all(TRANSITIONS[status] == frozenset() for status in TERMINAL)
    assert set(S) - {S.RINGING, S.IN_PROGRESS} == TERMINAL


def test_transitions_only_move_up_in_rank() -> None:
    for current, targets in TRANSITIONS.items():
        floor = 0 if current is None else RANK[current]
        assert all(RANK[target] > floor for target in targets)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ringing", S.RINGING),
        ("in-progress", S.IN_PROGRESS),
        (" Completed ", S.COMPLETED),
        ("no-answer", S.NO_ANSWER),
        ("", None),
        (None, None),
        ("queued", None),
        ("in_progress", None),
    ],
)
def test_parse_status_keeps_unknown_values_out_of_the_machine(
    raw: str | None, expected: S | None
) -> None:
    assert parse_status(raw) is expected
