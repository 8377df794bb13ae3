"""``CALLTRAIL_DATABASE_URL`` translated, in this one place, into eventsourcing's settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

DEFAULT_DATABASE_URL = "sqlite:///var/calltrail.db"


class DatabaseUrlError(ValueError):
    """A database URL calltrail cannot use; the message says why."""


@dataclass(frozen=True, slots=True)
class Database:
    """Where events and views live: a SQLite file, or a PostgreSQL database (and schema)."""

    kind: str  # "sqlite" or "postgres"
    path: Path | None = None
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = ""
    schema: str = ""

    def sqlite_file(self, purpose: str) -> Path:
        """The SQLite file for ``purpose``: eventsourcing's SQLite table names are fixed,
        so the event store and each projection get a file of their own beside each other."""
        assert self.path is not None
        if purpose == "events":
            return self.path
        return self.path.with_name(f"{self.path.stem}.{purpose}{self.path.suffix or '.db'}")

    def eventsourcing_env(self, purpose: str = "events") -> dict[str, str]:
        """The environment an eventsourcing ``Application`` or recorder needs for ``purpose``."""
        if self.kind == "sqlite":
            path = self.sqlite_file(purpose)
            path.parent.mkdir(parents=True, exist_ok=True)
            return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_CONNECT_TIMEOUT": "5",
            # Check a pooled connection before use: after a database restart the pool
            # holds dead ones, and without the check each would fail one request.
            "POSTGRES_PRE_PING": "y",
        }
        if self.schema:
            env["POSTGRES_SCHEMA"] = self.schema
        # eventsourcing opens 5 connections per recorder (up to 15): a process holds the
        # log and two views, and with a few workers and hosts that exhausted PostgreSQL's
        # default 100 connections. One writer thread and short reads need far fewer.
        pool, overflow = ("2", "8") if purpose == "events" else ("1", "4")
        env |= {"POSTGRES_POOL_SIZE": pool, "POSTGRES_MAX_OVERFLOW": overflow}
        if purpose == "events":
            env["APPLICATION_RECORDER_TOPIC"] = "store.recorders:PostgresCallRecorder"
        return env


def parse_database_url(url: str) -> Database:
    """Parse ``sqlite:///relative.db``, ``sqlite:////abs.db`` or ``postgresql://u[:p]@h[:port]/db``.

    A ``?schema=name`` query selects a PostgreSQL schema (tests use one each).
    """
    parts = urlsplit(url.strip())
    if parts.scheme == "sqlite":
        if parts.netloc or not parts.path.startswith("/") or len(parts.path) < 2:
            raise DatabaseUrlError(f"expected sqlite:///path/to/file.db, got {url!r}")
        return Database(kind="sqlite", path=Path(unquote(parts.path[1:])))
    if parts.scheme in ("postgresql", "postgres"):
        return _parse_postgres(url)
    raise DatabaseUrlError(f"expected a sqlite:/// or postgresql:// URL, got {url!r}")


def _parse_postgres(url: str) -> Database:
    split = urlsplit(url.strip())
    query = split.query
    try:
        port = split.port or 5432
    except ValueError:
        raise DatabaseUrlError(f"bad port in {url!r}") from None
    dbname = unquote(split.path.lstrip("/"))
    if not split.hostname or not split.username or not dbname:
        raise DatabaseUrlError(f"expected postgresql://user@host:port/dbname, got {url!r}")
    schema = ""
    for pair in query.split("&") if query else ():
        key, _, value = pair.partition("=")
        if key != "schema" or not value.isidentifier():
            raise DatabaseUrlError(f"only ?schema=<identifier> is understood, got {pair!r}")
        schema = value
    return Database(
        kind="postgres",
        host=split.hostname,
        port=port,
        user=unquote(split.username),
        password=unquote(split.password or ""),
        dbname=dbname,
        schema=schema,
    )
