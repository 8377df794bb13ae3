"""A store that fails answers 503 (never 2xx, never 500); proxies are trusted only if named."""

from __future__ import annotations

import psycopg
from litestar.testing import TestClient

from api.app import create_app
from tests.api.conftest import settings_for
from tests.conftest import PG_DSN
from tests.factories import new_uuid
from tests.plivo_client import PlivoSender


def ring(call_uuid: str) -> dict[str, str]:
    return {"CallUUID": call_uuid, "CallStatus": "ringing"}


def test_a_lost_store_is_a_503_and_nothing_is_acknowledged(pg_schema: str) -> None:
    app = create_app(settings_for(pg_schema, PROJECTIONS="off"))
    with TestClient(app=app) as client:
        sender = PlivoSender(client)
        assert sender.send("/plivo/ring", ring(new_uuid())).status_code == 200
        schema = pg_schema.rsplit("schema=", 1)[1]
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")  # the store's tables are gone
            conn.execute(f"CREATE SCHEMA {schema}")  # (for the fixture's clean-up)
        response = sender.send("/plivo/ring", ring(new_uuid()))
        assert response.status_code == 503
        assert response.json()["error"] == "store_unavailable"


def test_forwarded_host_and_proto_count_only_from_a_trusted_proxy(sqlite_url: str) -> None:
    public = "https://calls.example.org"
    forwarded = {"X-Forwarded-Host": "calls.example.org", "X-Forwarded-Proto": "https"}
    for trusted, expected in (("testclient", 200), ("10.0.0.9", 403)):
        settings = settings_for(
            sqlite_url, PUBLIC_URL="http://internal:8000", TRUSTED_PROXIES=trusted
        )
        with TestClient(app=create_app(settings)) as client:
            sender = PlivoSender(client, public_url=public)
            response = sender.send("/plivo/ring", ring(new_uuid()), headers=forwarded)
            assert response.status_code == expected, trusted
