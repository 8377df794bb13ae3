"""Storage: bytes per event of the event store, and the views' bytes per call, with the
states stored as JSON (as before compression) and compressed (``store.compression``).

The same simulated traffic (``bench_replay``'s generator, ``BENCH_STORAGE_EVENTS``,
default 200,000 events) is recorded into two SQLite stores, one with
``COMPRESSOR_TOPIC`` emptied; each is rebuilt (``calltrail rebuild all``) and its files
measured after a checkpoint and ``VACUUM`` (so free pages and the WAL do not count).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.bench_replay import generate


def compact_size(path: Path) -> int:
    """The file's size once checkpointed and vacuumed."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("VACUUM")
    return path.stat().st_size


def measure(folder: Path, events: int, compressed: bool) -> tuple[int, int, dict[str, int]]:
    """Events, calls, and the size of each file of a store of ``events`` events."""
    path = folder / ("compressed" if compressed else "json") / "calltrail.db"
    path.parent.mkdir()
    url = f"sqlite:///{path}"
    saved = os.environ.get("COMPRESSOR_TOPIC")
    if not compressed:
        os.environ["COMPRESSOR_TOPIC"] = ""
    try:
        total = generate(url, events)
    finally:
        if saved is None:
            os.environ.pop("COMPRESSOR_TOPIC", None)
        else:
            os.environ["COMPRESSOR_TOPIC"] = saved
    env = dict(os.environ) | {"CALLTRAIL_DATABASE_URL": url}
    command = [sys.executable, "-m", "entrypoints.cli", "rebuild", "all"]
    subprocess.run(command, env=env, check=True, stderr=subprocess.DEVNULL)
    sizes = {
        name: compact_size(path.with_name(f"calltrail{part}.db"))
        for name, part in (("events", ""), ("timeline", ".timeline"), ("metrics", ".metrics"))
    }
    with sqlite3.connect(path.with_name("calltrail.timeline.db")) as db:
        calls = int(db.execute("SELECT COUNT(*) FROM calls").fetchone()[0])
    return total, calls, sizes


def main() -> None:
    """Record the traffic both ways and print the sizes."""
    events = int(os.environ.get("BENCH_STORAGE_EVENTS", "200000"))
    with tempfile.TemporaryDirectory() as folder:
        rows = {
            kind: measure(Path(folder), events, kind == "compressed")
            for kind in ("json", "compressed")
        }
    for kind, (total, calls, sizes) in rows.items():
        print(
            f"states as {kind:10s}: {total:,} events, {calls:,} calls;"
            f" events {sizes['events'] / 1e6:7.1f} MB ({sizes['events'] / total:5.0f} B/event),"
            f" timeline {sizes['timeline'] / calls:5.0f} B/call,"
            f" metrics {sizes['metrics'] / calls:5.0f} B/call"
        )
    before, after = rows["json"][2], rows["compressed"][2]
    print(f"event store compressed/json: {after['events'] / before['events']:.2f}  (goal <= 0.5)")
    whole_before, whole_after = sum(before.values()), sum(after.values())
    print(f"whole store (events + views) compressed/json: {whole_after / whole_before:.2f}")


if __name__ == "__main__":
    main()
