"""One read contract: every ``/v1`` route and every export format speaks the records of
``projections/records.py``, with exactly their names and types.

Each body is checked against the one definition: the same keys (no more, no fewer) at
every level, each value of the declared type without coercion (a cause code is ``4000``,
never ``"4000"``; a flag is ``true``, never ``1``), times RFC 3339 in UTC, numbers E.164.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from api.schemas import CallPage, CallResponse, EventPage, HangupCauses, KpiReport, TimelineResponse
from domain.status import CallStatus
from entrypoints.cli import main
from projections.records import CallRecord, EventRecord
from tests.api.conftest import READ_KEY, settings_for
from tests.factories import CallSpec, cb, inbound, outbound
from tests.plivo_client import PlivoSender

AUTH = {"Authorization": f"Bearer {READ_KEY}"}


def conforms(value: Any, kind: Any, where: str = "body") -> None:
    """``value`` (decoded JSON) has exactly the shape of ``kind``, at every level."""
    msgspec.convert(value, kind, strict=True)  # the types, with no coercion
    _same_keys(value, msgspec.inspect.type_info(kind), where)


def _same_keys(value: Any, info: msgspec.inspect.Type, where: str) -> None:
    if isinstance(info, msgspec.inspect.StructType):
        names = {field.encode_name for field in info.fields}
        assert set(value) == names, f"{where}: {sorted(set(value) ^ names)}"
        for field in info.fields:
            _same_keys(value[field.encode_name], field.type, f"{where}.{field.encode_name}")
    elif isinstance(info, msgspec.inspect.ListType):
        for i, item in enumerate(value):
            _same_keys(item, info.item_type, f"{where}[{i}]")
    elif isinstance(info, msgspec.inspect.UnionType) and value is not None:
        structs = [t for t in info.types if isinstance(t, msgspec.inspect.StructType)]
        for struct in structs:
            _same_keys(value, struct, where)
    elif isinstance(info, msgspec.inspect.DateTimeType) and value is not None:
        assert value.endswith("Z"), f"{where}: {value} is not UTC"
        assert datetime.fromisoformat(value).utcoffset() is not None


def calls() -> list[CallSpec]:
    """A call with B legs and Dial outcomes, an inbound one, and one with a conflict."""
    busy = outbound(CallStatus.BUSY)
    conflicting = cb(
        busy.callbacks[-1].kind,
        dict(busy.callbacks[-1].params) | {"CallStatus": "completed", "HangupCauseCode": "4000"},
    )
    busy.callbacks.append(conflicting)
    return [outbound(CallStatus.COMPLETED, losers=1), inbound(answered=True), busy]


@pytest.fixture
def delivered(database_url: str) -> Iterator[tuple[TestClient[Litestar], list[CallSpec], int]]:
    app = create_app(settings_for(database_url))
    with TestClient(app=app) as client:
        sender = PlivoSender(client)
        specs = calls()
        position = 0
        for spec in specs:
            for callback in spec.callbacks:
                reply = sender.deliver(callback)
                assert reply.status_code == 200, reply.text
                position = max(position, int(reply.headers.get("x-calltrail-position", 0)))
        yield client, specs, position


def test_every_read_route_speaks_the_contract(
    delivered: tuple[TestClient[Litestar], list[CallSpec], int],
) -> None:
    client, specs, position = delivered
    wait = {"min_position": position}

    def read(path: str, **params: Any) -> Any:
        response = client.get(path, params=params | wait, headers=AUTH)
        assert response.status_code == 200, response.text
        return response.json()

    page = read("/v1/calls", order="desc", limit=2)
    conforms(page, CallPage)
    conforms(read("/v1/calls", cursor=page["next_cursor"]), CallPage)
    for spec in specs:
        conforms(read(f"/v1/calls/{spec.call_uuid}"), CallResponse)
        timeline = read(f"/v1/calls/{spec.call_uuid}/timeline")
        conforms(timeline, TimelineResponse)
        assert timeline["call"]["events"] == len(timeline["entries"])
    conforms(read("/v1/metrics/hangup-causes"), HangupCauses)
    conforms(read("/v1/metrics/kpis", bucket="day"), KpiReport)
    conforms(read("/v1/events"), EventPage)
    answered = read(f"/v1/calls/{specs[0].call_uuid}")["call"]
    assert answered["hangup_cause_code"] == 4000
    assert answered["from_number"].startswith("+")
    assert answered["legs"], "the contract's legs were not exercised"
    assert answered["dials"], "the contract's dials were not exercised"


def test_every_export_speaks_the_contract(
    delivered: tuple[TestClient[Litestar], list[CallSpec], int],
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, specs, position = delivered
    for path in ("/v1/calls", "/v1/metrics/hangup-causes"):  # the views have every event
        waited = client.get(path, params={"min_position": position}, headers=AUTH)
        assert waited.status_code == 200, waited.text
    monkeypatch.setenv("CALLTRAIL_DATABASE_URL", database_url)
    files = {name: tmp_path / name for name in ("calls.jsonl", "calls.csv", "events.jsonl")}
    assert main(["export", "calls", "--out", str(files["calls.jsonl"])]) == 0
    assert main(["export", "calls", "--format", "csv", "--out", str(files["calls.csv"])]) == 0
    assert main(["export", "events", "--out", str(files["events.jsonl"])]) == 0
    exported = [json.loads(line) for line in files["calls.jsonl"].read_text().splitlines()]
    assert len(exported) == len(specs)
    for call in exported:
        conforms(call, CallRecord, "calls.jsonl")
        read = client.get(f"/v1/calls/{call['call_uuid']}", headers=AUTH).json()["call"]
        assert call == read  # the export is the API's record
    rows = list(csv.DictReader(io.StringIO(files["calls.csv"].read_text())))
    assert list(rows[0]) == list(CallRecord.__struct_fields__)
    for row, call in zip(rows, exported, strict=True):
        assert row == {
            name: "" if value is None else value if isinstance(value, str) else json.dumps(value)
            for name, value in call.items()
        } | {name: row[name] for name in ("legs", "dials")}
        assert json.loads(row["legs"]) == call["legs"]
        assert row["answered"] in ("true", "false")
    for line in files["events.jsonl"].read_text().splitlines():
        conforms(json.loads(line), EventRecord, "events.jsonl")
