"""Settings: defaults that run out of the box, and one clear message for every bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import Settings, SettingsError


def test_defaults_need_nothing_set() -> None:
    settings = Settings.from_env({})
    assert settings.database.kind == "sqlite"
    assert settings.database.path == Path("var/calltrail.db")
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.auth_tokens == ()
    assert settings.max_body_bytes == 102_400
    assert str(settings.account_timezone) == "UTC"


def test_lists_are_comma_separated_for_rotation() -> None:
    settings = Settings.from_env(
        {
            "CALLTRAIL_AUTH_TOKEN": "new, old",
            "CALLTRAIL_API_KEYS": "k1,,k2",
            "CALLTRAIL_DIAL_NUMBERS": "+14155550100",
            "CALLTRAIL_PUBLIC_URL": "https://calls.example.com/hooks/",
            "CALLTRAIL_DATABASE_URL": "postgresql://app:s%40cret@db:6432/calls",
            "CALLTRAIL_ACCOUNT_TIMEZONE": "Asia/Kolkata",
        }
    )
    assert settings.auth_tokens == ("new", "old")
    assert settings.api_keys == ("k1", "k2")
    assert settings.public_url == "https://calls.example.com/hooks"
    db = settings.database
    assert (db.kind, db.host, db.port, db.user, db.password, db.dbname) == (
        "postgres",
        "db",
        6432,
        "app",
        "s@cret",
        "calls",
    )
    assert db.eventsourcing_env()["POSTGRES_PASSWORD"] == "s@cret"


def test_every_bad_value_is_named_in_one_error() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(
            {
                "CALLTRAIL_PUBLIC_URL": "calls.example.com",
                "CALLTRAIL_DATABASE_URL": "mysql://x@y/z",
                "CALLTRAIL_DIAL_TIMEOUT": "soon",
                "CALLTRAIL_ACCOUNT_TIMEZONE": "Mars/Olympus",
                "CALLTRAIL_INSECURE_SKIP_SIGNATURE": "maybe",
                "CALLTRAIL_MAX_BODY_BYTES": "10",
            }
        )
    message = str(caught.value)
    for name in (
        "PUBLIC_URL",
        "DATABASE_URL",
        "DIAL_TIMEOUT",
        "ACCOUNT_TIMEZONE",
        "INSECURE_SKIP_SIGNATURE",
        "MAX_BODY_BYTES",
    ):
        assert f"CALLTRAIL_{name}=" in message


def test_sqlite_views_get_files_beside_the_event_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x' / 'calltrail.db'}"
    database = Settings.from_env({"CALLTRAIL_DATABASE_URL": url}).database
    assert database.sqlite_file("timeline") == tmp_path / "x" / "calltrail.timeline.db"
    env = database.eventsourcing_env("timeline")
    assert env["SQLITE_DBNAME"] == str(tmp_path / "x" / "calltrail.timeline.db")
    assert (tmp_path / "x").is_dir()


def test_the_log_level_is_one_of_four() -> None:
    assert Settings.from_env({}).log_level == "info"
    assert Settings.from_env({"CALLTRAIL_LOG_LEVEL": "WARNING"}).log_level == "warning"
    with pytest.raises(SettingsError, match="CALLTRAIL_LOG_LEVEL='loud': expected one of"):
        Settings.from_env({"CALLTRAIL_LOG_LEVEL": "loud"})


def test_connection_limits_have_defaults_and_refuse_nonsense() -> None:
    settings = Settings.from_env({})
    assert (settings.max_header_bytes, settings.header_timeout) == (16_384, 10)
    assert settings.max_connections == 1000
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(
            {
                "CALLTRAIL_MAX_HEADER_BYTES": "100",
                "CALLTRAIL_HEADER_TIMEOUT": "0",
                "CALLTRAIL_MAX_CONNECTIONS": "lots",
            }
        )
    for name in ("MAX_HEADER_BYTES", "HEADER_TIMEOUT", "MAX_CONNECTIONS"):
        assert f"CALLTRAIL_{name}=" in str(caught.value)


def test_the_plivo_call_api_needs_no_setting_until_reconciling() -> None:
    settings = Settings.from_env({})
    assert (settings.plivo_auth_id, settings.plivo_auth_token) == ("", "")
    assert settings.plivo_api_url == "https://api.plivo.com"
    assert (settings.plivo_api_rate, settings.plivo_api_timeout) == (2.0, 10.0)
    custom = Settings.from_env(
        {
            "CALLTRAIL_PLIVO_AUTH_ID": "SAZDK1NTG4NWE2NTHKZT",
            "CALLTRAIL_PLIVO_AUTH_TOKEN": "tok-3a9",
            "CALLTRAIL_PLIVO_API_URL": "http://127.0.0.1:8200/",
            "CALLTRAIL_PLIVO_API_RATE": "0.5",
            "CALLTRAIL_PLIVO_API_TIMEOUT": "30",
        }
    )
    assert custom.plivo_api_url == "http://127.0.0.1:8200"
    assert (custom.plivo_api_rate, custom.plivo_api_timeout) == (0.5, 30.0)


def test_bad_plivo_settings_are_named_and_the_token_never_shown() -> None:
    token = "s3cret-plivo-token"
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(
            {
                "CALLTRAIL_PLIVO_AUTH_ID": "MA123",
                "CALLTRAIL_PLIVO_API_URL": "api.plivo.com",
                "CALLTRAIL_PLIVO_API_RATE": "100",
                "CALLTRAIL_PLIVO_API_TIMEOUT": "soon",
            }
        )
    message = str(caught.value)
    for name in ("PLIVO_AUTH_ID=", "PLIVO_API_URL=", "PLIVO_API_RATE=", "PLIVO_API_TIMEOUT="):
        assert f"CALLTRAIL_{name}" in message
    with pytest.raises(SettingsError, match="set both, or neither") as alone:
        Settings.from_env({"CALLTRAIL_PLIVO_AUTH_TOKEN": token})
    assert token not in str(alone.value)
    both = {"CALLTRAIL_PLIVO_AUTH_ID": "MAZJKYZTK2ZDHMYWU3ZD", "CALLTRAIL_PLIVO_AUTH_TOKEN": token}
    assert token not in repr(Settings.from_env(both))
