"""A call's aggregate id is uuid5 of its ``CallUUID``, as ``uuid.uuid5`` makes it."""

from __future__ import annotations

from uuid import uuid5

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.ids import CALL_NAMESPACE, call_id


@given(st.text())
def test_call_id_is_uuid5_of_the_stripped_call_uuid(call_uuid: str) -> None:
    try:
        expected = uuid5(CALL_NAMESPACE, call_uuid.strip())
    except UnicodeEncodeError:  # a lone surrogate: neither encodes it
        with pytest.raises(UnicodeEncodeError):
            call_id(call_uuid)
        return
    assert call_id(call_uuid) == expected
    assert call_id(call_uuid).version == 5
