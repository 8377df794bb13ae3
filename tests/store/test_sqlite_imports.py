"""A SQLite deployment never loads the PostgreSQL driver: psycopg and eventsourcing's
PostgreSQL module take a fifth of a second to import, paid by every process a rebuild
starts and by every ``calltrail`` command."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from store.application import open_call_log
from tests.projections.test_views import mixed_calls, record_shuffled

POSTGRES_MODULES = ("psycopg", "eventsourcing.postgres", "projections.postgres")


def test_serving_and_rebuilding_on_sqlite_never_import_the_postgres_driver(
    sqlite_url: str,
) -> None:
    call_log = open_call_log(sqlite_url)
    record_shuffled(call_log, mixed_calls())
    call_log.close()
    script = textwrap.dedent(
        f"""
        import os, sys
        os.environ["CALLTRAIL_DATABASE_URL"] = {sqlite_url!r}
        from entrypoints.cli import main
        import api.app
        # Two workers over batches of 5 events: the rebuild starts its processes.
        assert main(["rebuild", "all", "--workers", "2", "--batch", "5"]) == 0
        loaded = [name for name in {POSTGRES_MODULES!r} if name in sys.modules]
        assert not loaded, loaded
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "rebuilt timeline, metrics" in done.stderr
