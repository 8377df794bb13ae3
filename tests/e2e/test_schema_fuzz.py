"""Schemathesis against the served OpenAPI: no 5xx, and responses match the schema.

Driven by hand (each operation's strategy under Hypothesis' ``given``) against a real
server, because schemathesis' pytest plugin does not yet run under pytest 9.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from domain.status import CallStatus
from store.application import open_call_log
from tests.e2e.server import running_server
from tests.factories import inbound, outbound

KEY = "fuzz-key"


def test_the_read_api_never_fails_and_matches_its_schema(sqlite_url: str) -> None:
    app = open_call_log(sqlite_url)
    for spec in (outbound(CallStatus.COMPLETED, losers=1), inbound(answered=False)):
        for callback in spec.callbacks:
            app.record(callback)
    extra = {"CALLTRAIL_API_KEYS": KEY, "CALLTRAIL_READ_WAIT_MS": "2000"}
    with running_server(sqlite_url, extra=extra) as server:
        schema = schemathesis.openapi.from_url(f"{server.url}/schema/openapi.json")
        operations = [op.ok() for op in schema.get_all_operations()]  # type: ignore[union-attr]
        reads = [op for op in operations if op.path.startswith("/v1/")]
        assert len(reads) == 6
        for operation in reads:
            check(operation, server.url)


def check(operation: Any, base_url: str) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def run(case: Any) -> None:
        # Not positive_data_acceptance: a time of the documented form may still fall
        # outside the years 1-9999 once in UTC, or name a day that does not exist, and
        # is then a 400 by design (tests/e2e/test_read_params.py checks those answers).
        case.call_and_validate(
            base_url=base_url,
            headers={"Authorization": f"Bearer {KEY}"},
            excluded_checks=[positive_data_acceptance],
        )

    try:
        run()
    except Exception as failure:  # name the operation that failed
        pytest.fail(f"{operation.method.upper()} {operation.path}: {failure}")
