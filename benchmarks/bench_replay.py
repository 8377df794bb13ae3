"""Replay speed: ``calltrail rebuild all`` against a raw scan-and-decode of the same log.

Generates a SQLite event log of simulated calls (``BENCH_EVENTS``, default 1,000,000
events) recorded in arrival order, calls overlapping as on a busy account, then in the
same run times (a) a raw ``SELECT`` of every stored event with msgspec decoding of its
state, the floor any replay pays, and (b) the real ``calltrail rebuild all`` command in
its own process (with its default worker processes, one per CPU up to 4), reporting the
peak RSS of the largest of its processes.
Both timed runs are repeated (``BENCH_REPLAY_ROUNDS``, default 3, each rebuild from
empty views) and the best of each is compared, as ``bench_codec`` does: on this shared
VM, two runs of this benchmark 20 minutes apart timed the rebuild at 15.9 s and 19.4 s.
The load average is printed too, and for each rebuild the CPU time its processes used
and the share of the machine's CPU time the hypervisor stole meanwhile (``/proc/stat``),
so that a slow round shows whether it lost its CPU to the host (steal) or ran slower on
it (more CPU time per event).
The generated log is flushed to disk (``os.sync``) before the timed runs, so neither pays
for the generator's writes.
"""

from __future__ import annotations

import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import msgspec

from benchmarks.workloads import traffic
from domain.callbacks import Callback
from store.application import open_call_log
from store.compression import inflate


def generate(url: str, target_events: int) -> int:
    """Record simulated traffic through the application, as the webhooks would: in
    arrival order, calls overlapping, a group commit per 1,000 callbacks."""
    app = open_call_log(url)
    chunk: list[Callback] = []
    for callback in traffic(target_events):
        chunk.append(callback)
        if len(chunk) == 1000:
            app.record_batch(chunk)
            chunk = []
    if chunk:
        app.record_batch(chunk)
    total = app.recorder.max_notification_id() or 0
    app.close()
    return total


def raw_scan(path: Path) -> tuple[int, float]:
    """Events per second of a bare SELECT plus msgspec decoding of every state (its JSON:
    decompressed first if it is stored compressed)."""
    decode = msgspec.json.Decoder().decode
    started = time.perf_counter()
    count = 0
    with sqlite3.connect(path) as conn:
        for _, _, _, state in conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events"
            " ORDER BY rowid"
        ):
            decode(inflate(state))
            count += 1
    return count, count / (time.perf_counter() - started)


class Rebuilt(NamedTuple):
    """One timed ``calltrail rebuild all``."""

    seconds: float  # wall
    cpu_seconds: float  # user + system, of the command and its worker processes
    steal: float | None  # share of the machine's CPU time stolen meanwhile (None: unknown)
    peak_mib: int  # largest resident set of any of its processes, so far


def _cpu_ticks() -> tuple[int, int] | None:
    """The machine's (steal, total) CPU ticks since boot, or ``None`` off Linux."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return fields[7], sum(fields)


def rebuild(url: str) -> Rebuilt:
    """Run ``calltrail rebuild all`` and measure it."""
    env = dict(os.environ) | {"CALLTRAIL_DATABASE_URL": url}
    before, ticks = resource.getrusage(resource.RUSAGE_CHILDREN), _cpu_ticks()
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "rebuild", "all"],
        env=env,
        check=True,
        stderr=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - started
    after, ticks_after = resource.getrusage(resource.RUSAGE_CHILDREN), _cpu_ticks()
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    steal = None
    if ticks is not None and ticks_after is not None and ticks_after[1] > ticks[1]:
        steal = (ticks_after[0] - ticks[0]) / (ticks_after[1] - ticks[1])
    return Rebuilt(seconds, cpu, steal, after.ru_maxrss // 1024)


def generated_log(path: Path, target: int) -> tuple[Path, str, int]:
    """A SQLite log of about ``target`` events at ``path``, flushed to disk: its path, URL
    and size."""
    url = f"sqlite:///{path}"
    started = time.perf_counter()
    total = generate(url, target)
    print(f"generated {total:,} events in {time.perf_counter() - started:.0f} s", flush=True)
    # The generator leaves hundreds of MB of dirty pages. Written back during the timed
    # runs, they slowed the rebuild, which writes and syncs too (a fresh copy of one
    # log: 17.0 and 17.7 s after a sync, 18.1 and 21.1 s without).
    os.sync()
    return path, url, total


def main() -> None:
    """Generate the log, then time the raw scan and the rebuild, round by round, in the
    same run."""
    target = int(os.environ.get("BENCH_EVENTS", "1000000"))
    rounds = int(os.environ.get("BENCH_REPLAY_ROUNDS", "3"))
    with tempfile.TemporaryDirectory() as folder:
        path, url, total = generated_log(Path(folder) / "replay.db", target)
        load_before = os.getloadavg()[0]
        raw_rates, rebuilds = [], []
        for round_number in range(1, rounds + 1):
            count, raw_rate = raw_scan(path)
            for view_file in path.parent.glob(f"{path.stem}.*.db*"):
                view_file.unlink()  # every round builds the views from nothing
            rebuilt = rebuild(url)
            raw_rates.append(raw_rate)
            rebuilds.append(rebuilt)
            steal = "unknown" if rebuilt.steal is None else f"{rebuilt.steal:.1%}"
            print(
                f"round {round_number}: raw {raw_rate:,.0f} events/s,"
                f" rebuild {total / rebuilt.seconds:,.0f} events/s ({rebuilt.seconds:.1f} s,"
                f" CPU {rebuilt.cpu_seconds:.1f} s, {rebuilt.cpu_seconds / total * 1e6:.1f}"
                f" µs/event, steal {steal})"
            )
        raw_rate, seconds = max(raw_rates), min(rebuilt.seconds for rebuilt in rebuilds)
        peak_mib = rebuilds[-1].peak_mib
        rate = total / seconds
        print(f"best of {rounds} rounds:")
        print(f"raw SELECT + msgspec decode: {raw_rate:12,.0f} events/s ({count:,} events)")
        print(f"calltrail rebuild all:       {rate:12,.0f} events/s ({seconds:.1f} s)")
        print(f"ratio rebuild/raw:           {rate / raw_rate:12.2f}  (goal >= 0.25)")
        print(f"rebuild peak RSS:            {peak_mib:9,d} MiB (largest process)")
        print(
            f"CPUs {os.cpu_count()}, load average {load_before:.2f} before the timed runs,"
            f" {os.getloadavg()[0]:.2f} after"
        )


if __name__ == "__main__":
    main()
