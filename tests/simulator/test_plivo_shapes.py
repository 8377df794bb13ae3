"""The fake Call API answers in the shapes Plivo publishes (``plivo_shapes/SOURCES.md``)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulator.plivo_api import PlivoCallApi
from tests.call_api import AUTH_ID, AUTH_TOKEN, serving, simulated

SHAPES = Path(__file__).parent / "plivo_shapes"
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer"}


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SHAPES / name).read_text(encoding="utf-8"))
    return loaded


def kind(value: object) -> str:
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)


def allowed_kinds(*examples: dict[str, Any]) -> dict[str, set[str]]:
    """Each key's JSON types in the examples; a null stands for a string not set."""
    kinds: dict[str, set[str]] = {}
    for example in examples:
        for key, value in example.items():
            kinds.setdefault(key, set()).add(kind(value))
    for seen in kinds.values():
        if "null" in seen:
            seen.add("string")
    return kinds


def mask(text: str) -> str:
    """The format of a value: every digit a 9 (``9999-99-99 99:99:99+99:99``)."""
    return re.sub(r"\d", "9", text)


def assert_fits(answer: dict[str, Any], *examples: dict[str, Any]) -> None:
    """Same keys as the examples together, each value of a type and format they show."""
    kinds = allowed_kinds(*examples)
    assert set(answer) == set(kinds)
    for key, value in answer.items():
        assert kind(value) in kinds[key], key
        formats = {mask(e[key]) for e in examples if key.endswith("_time") and e.get(key)}
        if formats and value is not None:
            assert mask(value) in formats, key


RECORD_SHAPES = (
    fixture("call_get.json"),
    fixture("call_get_unanswered.json"),
    fixture("call_object.json") | {"api_id": "x"},
)


@pytest.fixture(scope="module")
def api() -> Iterator[PlivoCallApi]:
    with serving(simulated(40)) as served:
        yield served


_HTTP = httpx.Client(auth=(AUTH_ID, AUTH_TOKEN), timeout=5)


def get(api: PlivoCallApi, path: str, **params: str | int) -> httpx.Response:
    return _HTTP.get(f"{api.url}/v1/Account/{AUTH_ID}/{path}", params=params)


def test_a_call_record_has_the_published_keys_types_and_time_formats(api: PlivoCallApi) -> None:
    published = RECORD_SHAPES
    for call in api.account.truth().values():
        answer = get(api, f"Call/{call.call_uuid}/")
        assert answer.status_code == 200
        assert_fits(answer.json(), *published)


def test_b_legs_have_the_same_shape_and_name_their_a_leg(api: PlivoCallApi) -> None:
    published = RECORD_SHAPES
    legs = [r for e in api.account.calls.values() for r in e.records if r["parent_call_uuid"]]
    assert legs, "the simulated calls should include Dials"
    for leg in legs[:10]:
        answer = get(api, f"Call/{leg['call_uuid']}/").json()
        assert_fits(answer, *published)
        assert answer["parent_call_uuid"] in api.account.calls


def test_a_list_page_has_the_published_meta_and_objects(api: PlivoCallApi) -> None:
    published = fixture("call_list.json")
    window = {"end_time__gte": "2026-11-01 00:00", "end_time__lt": "2026-11-03 00:00"}
    answer = get(api, "Call/", limit=2, offset=0, **window).json()
    assert set(answer) == set(published)
    assert_fits(answer["meta"], published["meta"])
    assert mask(answer["meta"]["next"].split("?")[0]) == mask(
        published["meta"]["next"].replace("MAEXAMPLE0ACCOUNT001", AUTH_ID).split("?")[0]
    )
    unanswered = {k: v for k, v in fixture("call_get_unanswered.json").items() if k != "api_id"}
    records = published["objects"][0], fixture("call_object.json"), unanswered
    for record in answer["objects"]:
        assert_fits(record, *records)


def test_live_calls_have_the_published_shapes(api: PlivoCallApi) -> None:
    call = next(iter(api.account.truth()))
    api.account.live(call, lookups=2)
    listed = get(api, "Call/", status="live").json()
    assert_fits(listed, fixture("live_call_list_ids.json"))
    assert listed["calls"] == [call]
    assert_fits(get(api, f"Call/{call}/", status="live").json(), fixture("live_call_get.json"))


def test_errors_have_the_body_the_sdk_reads(api: PlivoCallApi) -> None:
    missing = get(api, "Call/00000000-0000-4000-8000-000000000000/")
    assert missing.status_code == 404
    assert_fits(missing.json(), fixture("error.json"))
