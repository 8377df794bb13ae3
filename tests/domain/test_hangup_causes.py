"""Tests for ``domain.hangup_causes``: the table against the reference, and ``lookup``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.hangup_causes import (
    CAUSES,
    SOURCES,
    CauseCategory,
    HangupCause,
    counts_for_ner,
    lookup,
)

# Section 3.2 of the protocol notes, copied beside this test (nothing outside the repository).
REFERENCE = Path(__file__).with_name("plivo_hangup_causes.md")
EXTRAS = {4240: "sip_auth_failed", 4250: "sip_auth_timeout"}

_ROW = re.compile(r"^\|\s*(\d+)\s*\|([^|]*)\|([^|]*)\|\s*$")


def _reference_table() -> dict[int, tuple[str, str]]:
    """Parse section 3.2 of the reference into ``{code: (name, meaning)}``."""
    text = REFERENCE.read_text(encoding="utf-8")
    section = text.split("### 3.2 ", 1)[1].split("\n### ", 1)[0]
    table: dict[int, tuple[str, str]] = {}
    for line in section.splitlines():
        match = _ROW.match(line)
        if match is not None:
            table[int(match[1])] = (match[2].strip(), match[3].strip())
    return table


def test_table_has_every_reference_code_with_its_name() -> None:
    reference = _reference_table()
    assert len(reference) > 40, "the section 3.2 table did not parse"
    expected_names = {code: name for code, (name, _) in reference.items()} | EXTRAS
    assert set(CAUSES) == set(expected_names)
    assert {code: cause.name for code, cause in CAUSES.items()} == expected_names


def test_meanings_match_the_reference() -> None:
    reference = _reference_table()
    for code, (_, meaning) in reference.items():
        assert CAUSES[code].meaning == meaning, code


def test_extras_are_mentioned_in_the_reference() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    for code, name in EXTRAS.items():
        assert f"{code} `{name}`" in text


def test_entries_are_keyed_by_their_own_code() -> None:
    for code, cause in CAUSES.items():
        assert cause.code == code
        assert isinstance(cause.category, CauseCategory)


@pytest.mark.parametrize(
    ("code", "category"),
    [
        (4000, CauseCategory.ANSWERED),
        (4010, CauseCategory.ANSWERED),
        (9100, CauseCategory.ANSWERED),
        (3010, CauseCategory.USER),
        (3000, CauseCategory.USER),
        (6010, CauseCategory.USER),
        (2000, CauseCategory.NETWORK),
        (3030, CauseCategory.NETWORK),
        (4240, CauseCategory.NETWORK),
        (4250, CauseCategory.NETWORK),
        (1000, CauseCategory.CANCELLED),
        (9000, CauseCategory.CANCELLED),
        (7011, CauseCategory.APPLICATION),
        (8014, CauseCategory.APPLICATION),
        (0, CauseCategory.UNKNOWN),
    ],
)
def test_category_spot_checks(code: int, category: CauseCategory) -> None:
    assert CAUSES[code].category is category


@pytest.mark.parametrize("raw", ["4000", " 4000 ", "4000\n", "+4000", "04000", 4000])
def test_lookup_known_code(raw: str | int) -> None:
    assert lookup(raw) is CAUSES[4000]


def test_lookup_zero_is_the_table_entry() -> None:
    assert lookup("0") is CAUSES[0]
    assert lookup(0).category is CauseCategory.UNKNOWN


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", -1),
        ("   ", -1),
        ("abc", -1),
        (None, -1),
        ("4000.0", -1),
        ("4_000", -1),
        ("\u0664\u0660\u0660\u0660", -1),  # Arabic-Indic digits: int() would take them
        ("9" * 5000, -1),  # beyond Python's int-from-string digit limit
        ("-1", -1),
        ("4001", 4001),
        (4001, 4001),
        ("99999999999999999999", 99999999999999999999),
        (-5, -5),
    ],
)
def test_lookup_unknown(raw: str | int | None, code: int) -> None:
    cause = lookup(raw)
    assert cause == HangupCause(code, "Unknown", cause.meaning, CauseCategory.UNKNOWN)


@given(st.one_of(st.none(), st.integers(), st.text()))
def test_lookup_never_raises_and_is_unknown_outside_the_table(
    raw: str | int | None,
) -> None:
    cause = lookup(raw)
    if cause.code in CAUSES:
        assert cause is CAUSES[cause.code]
    else:
        assert cause.category is CauseCategory.UNKNOWN
        assert cause.name == "Unknown"
    if isinstance(raw, int):
        assert cause.code == raw


@given(st.integers())
def test_lookup_of_int_and_of_its_text_agree(code: int) -> None:
    assert lookup(code) == lookup(str(code)) == lookup(f"  {code}\t")
    if code not in CAUSES:
        assert lookup(code).category is CauseCategory.UNKNOWN


@given(st.sampled_from(sorted(CAUSES)))
def test_lookup_of_every_known_code(code: int) -> None:
    assert lookup(str(code)) is CAUSES[code]


def test_counts_for_ner_exactly_answered_and_user() -> None:
    counted = {category for category in CauseCategory if counts_for_ner(category)}
    assert counted == {CauseCategory.ANSWERED, CauseCategory.USER}


def test_sources_are_the_documented_values() -> None:
    assert {"Caller", "Callee", "Plivo", "Carrier", "API Request"} <= SOURCES
    assert {"Answer XML", "Error", "Unknown"} <= SOURCES
    assert len(SOURCES) == 8
