"""Export speed: ``calltrail export events`` against a raw scan-and-decode of the same log.

Generates the log of ``bench_replay`` (``BENCH_EVENTS``, default 1,000,000 events), then
in the same run, round after round (``BENCH_EXPORT_ROUNDS``, default 3; the best of each
kept, as ``bench_replay`` does on this shared machine), times:

- the raw ``SELECT`` of every stored event with msgspec decoding of its state
  (``bench_replay.raw_scan``), the floor any reader of the log pays;
- ``calltrail export events --out FILE`` in its own process, with its peak RSS: a
  streaming export's memory does not grow with the log;
- the same export of a window (``--since``/``--until``) holding about a hundredth of the
  log, from its middle, which should read the window, not the log.

Goal: the export at least 0.5x the raw rate; the window in a small fraction of the whole.
The ratio is printed by wall time and by CPU time: on this shared machine (2 cores, load
often above 4) wall times of two processes are often far apart for reasons of their own.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from benchmarks.bench_replay import generated_log, raw_scan
from projections.log import decode_state, occurred
from store.compression import json_of


def export(url: str, out: Path, *window: str) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of ``calltrail export events`` in its
    own process."""
    env = dict(os.environ) | {"CALLTRAIL_DATABASE_URL": url}
    command = [sys.executable, "-m", "entrypoints.cli", "export", "events", "--out", str(out)]
    started = time.perf_counter()
    process = subprocess.Popen([*command, *window], env=env, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"export failed: {process.returncode}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def time_at(path: Path, position: int) -> datetime:
    """When the event at ``position`` occurred."""
    with sqlite3.connect(path) as db:
        (state,) = db.execute(
            "SELECT state FROM stored_events WHERE rowid = ?", (position,)
        ).fetchone()
    moment = occurred(decode_state(json_of(state)))
    assert moment is not None
    return moment


def main() -> None:
    """Generate the log; time the raw scan, the export and a window's export."""
    target = int(os.environ.get("BENCH_EVENTS", "1000000"))
    rounds = int(os.environ.get("BENCH_EXPORT_ROUNDS", "3"))
    with tempfile.TemporaryDirectory() as folder:
        path, url, total = generated_log(Path(folder) / "export.db", target)
        out = Path(folder) / "events.jsonl"
        # A window of about a hundredth of the log, from its middle.
        # (Times are not quite in log order: a group commit stores a batch call by call.)
        span = time_at(path, total) - time_at(path, 1)
        since = time_at(path, total // 2)
        until = since + span / 100
        window = ["--since", since.isoformat(), "--until", until.isoformat()]
        raw_rates, raw_cpus, exports, cpus, windows, peaks = [], [], [], [], [], []
        for number in range(1, rounds + 1):
            cpu_before = time.process_time()
            _, raw_rate = raw_scan(path)
            raw_cpus.append(time.process_time() - cpu_before)
            seconds, cpu, peak = export(url, out, "--format", "jsonl")
            cpus.append(cpu)
            lines = sum(1 for _ in out.open("rb"))
            window_seconds, _, _ = export(url, out, *window)
            in_window = sum(1 for _ in out.open("rb"))
            raw_rates.append(raw_rate)
            exports.append(seconds)
            windows.append(window_seconds)
            peaks.append(peak)
            print(
                f"round {number}: raw {raw_rate:,.0f} events/s, export {lines / seconds:,.0f}"
                f" events/s ({seconds:.1f} s, CPU {cpu:.1f} s, peak {peak} MiB),"
                f" window of {in_window:,} events {window_seconds:.2f} s",
                flush=True,
            )
        raw_rate, seconds, window_seconds = max(raw_rates), min(exports), min(windows)
        rate = total / seconds
        print(f"best of {rounds} rounds:")
        print(f"raw SELECT + msgspec decode:  {raw_rate:12,.0f} events/s ({total:,} events)")
        print(f"calltrail export events:      {rate:12,.0f} events/s ({seconds:.1f} s)")
        print(f"ratio export/raw:             {rate / raw_rate:12.2f}  (goal >= 0.5)")
        cpu_ratio = min(raw_cpus) / min(cpus)
        print("same, by CPU time (export process, start-up included, against the raw scan):")
        print(f"ratio export/raw CPU rate:    {cpu_ratio:12.2f}  (goal >= 0.5)")
        print(f"export peak RSS:              {max(peaks):9,d} MiB")
        print(
            f"a window of {in_window:,} events: {window_seconds:.2f} s,"
            f" {window_seconds / seconds:.3f} of the whole export"
        )
        print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
