"""The README's example of ``calltrail simulate``, run as written, twice, against one server."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server import running_server
from tests.plivo_client import TOKEN

README = Path(__file__).resolve().parents[2] / "README.md"
API_KEY = "readme-example-key"


def readme_example() -> list[str]:
    """The arguments of the README's example run (``$ calltrail simulate ...``)."""
    found = re.search(r"^\$ calltrail (simulate .*)$", README.read_text("utf-8"), re.MULTILINE)
    assert found, "README.md shows no '$ calltrail simulate ...' example"
    return shlex.split(found[1])


def aimed_at(arguments: list[str], url: str) -> list[str]:
    """``arguments`` sent to ``url`` instead of the README's ``--target``."""
    at = arguments.index("--target")
    return [*arguments[:at], "--target", url, *arguments[at + 2 :]]


@dataclass
class Example:
    """Two runs of the README's example against one server, and its KPIs after them."""

    runs: list[subprocess.CompletedProcess[str]]
    kpis: dict[str, Any]


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Example:
    database = tmp_path_factory.mktemp("readme") / "calltrail.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLTRAIL_")}
    env |= {"CALLTRAIL_AUTH_TOKEN": TOKEN, "CALLTRAIL_API_KEYS": API_KEY}
    with running_server(f"sqlite:///{database}", extra={"CALLTRAIL_API_KEYS": API_KEY}) as server:
        command = [sys.executable, "-m", "entrypoints.cli", *aimed_at(readme_example(), server.url)]
        runs = [
            subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=300, check=False
            )
            for _ in range(2)
        ]
        headers = {"Authorization": f"Bearer {API_KEY}"}
        kpis = httpx.get(f"{server.url}/v1/metrics/kpis", headers=headers).json()
    return Example(runs, kpis)


def test_the_readme_example_passes_twice_in_a_row_against_one_server(example: Example) -> None:
    calls = readme_example()[readme_example().index("--calls") + 1]
    for run in example.runs:
        assert run.returncode == 0, run.stdout + run.stderr[-2000:]
        assert f"verified {int(calls):,} calls through /v1/calls: 0 mismatches" in run.stdout
    starts = [re.search(r"start (\S+)\)", run.stdout) for run in example.runs]
    assert starts[0]
    assert starts[1]
    assert starts[0][1] != starts[1][1]  # each run its own calls


def test_a_simulated_run_gives_post_dial_delays(example: Example) -> None:
    total = example.kpis["total"]
    assert total["attempts"] > 0
    assert total["pdd_p50"] is not None
    assert total["pdd_p95"] is not None
    assert 0 < total["pdd_p50"] <= total["pdd_p95"]
