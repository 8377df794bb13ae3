"""The callback fingerprint never changes: redeliveries of stored callbacks are recognised.

``json_fingerprint`` is the definition stored events were made with; ``fingerprint_of``
must give the same digest for any kind and any params.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.callbacks import fingerprint_of, json_fingerprint
from tests.api.payloads import ANSWERED_OUTBOUND_HANGUP

# Each string from one of these alphabets: one character JSON escapes (or one easy to get
# wrong) among ordinary ones, so that every kind of escape is tried on its own.
ALPHABETS = ['"a= ', "\\a ", "\x00\x1fa", "\x7fé\u2028\U0001f600a", ",[]a"]
TRICKY = st.sampled_from(ALPHABETS).flatmap(lambda chars: st.text(alphabet=chars, max_size=8))
ANY = st.text(max_size=40)


@given(kind=ANY, params=st.dictionaries(ANY, ANY, max_size=30))
def test_any_params_give_the_defined_digest(kind: str, params: dict[str, str]) -> None:
    assert fingerprint_of(kind, params) == json_fingerprint(kind, params)


@given(kind=TRICKY, params=st.dictionaries(TRICKY, TRICKY, max_size=8))
def test_characters_json_escapes_give_the_defined_digest(kind: str, params: dict[str, str]) -> None:
    assert fingerprint_of(kind, params) == json_fingerprint(kind, params)


def test_a_stored_plivo_hangup_keeps_its_digest() -> None:
    # The digest stored with this callback before fingerprint_of was rewritten.
    expected = "14be53774350061023a9c9f494855aab"
    assert json_fingerprint("hangup", ANSWERED_OUTBOUND_HANGUP) == expected
    assert fingerprint_of("hangup", ANSWERED_OUTBOUND_HANGUP) == expected
