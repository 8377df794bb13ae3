"""``make bench``: run every benchmark in turn."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = [
    "benchmarks.bench_append",
    "benchmarks.bench_signature",
    "benchmarks.bench_ingest",
    "benchmarks.bench_scaleout",
    "benchmarks.bench_replay",
    "benchmarks.bench_reads",
    "benchmarks.bench_export",
    "benchmarks.bench_storage",
    "benchmarks.bench_codec",
    "benchmarks.bench_console",
]


def main() -> None:
    """Run the benchmarks named on the command line, or all of them."""
    for name in sys.argv[1:] or BENCHMARKS:
        module = importlib.import_module(name if "." in name else f"benchmarks.{name}")
        print(f"\n== {module.__name__} ==", flush=True)
        module.main()


if __name__ == "__main__":
    main()
