"""Train the zstd dictionary of stored states (``store/states-v1.zdict``) on simulated traffic.

Run once, by hand: ``python -m benchmarks.zstd_dictionary [OUT]``. States already written
with a dictionary need that dictionary to be read: never overwrite one that a store may
have used; write a new file with a new name instead (its id differs).
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
from pathlib import Path

import zstandard

from benchmarks.workloads import traffic
from store.application import open_call_log
from store.compression import DICTIONARY, LEVEL

SIZE = 16_384  # 64 KiB compressed no better (measured: 113 against 116 bytes a state)


def main() -> None:
    """Record 30,000 events of simulated traffic uncompressed and train on their states."""
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DICTIONARY
    os.environ["COMPRESSOR_TOPIC"] = ""  # the states as JSON, to learn from
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "train.db"
        app = open_call_log(f"sqlite:///{path}")
        # Another seed than the benchmarks' traffic: their figures are not of the samples.
        callbacks = list(traffic(30_000, seed=7))
        for start in range(0, len(callbacks), 1000):
            app.record_batch(callbacks[start : start + 1000])
        app.close()
        with sqlite3.connect(path) as db:
            states = [row[0] for row in db.execute("SELECT state FROM stored_events")]
    trained = zstandard.train_dictionary(SIZE, states, level=LEVEL)
    out.write_bytes(trained.as_bytes())
    print(f"{out}: {len(trained.as_bytes()):,} bytes, id {trained.dict_id()}")


if __name__ == "__main__":
    main()
