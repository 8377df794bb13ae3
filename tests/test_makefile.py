"""The Makefile finds a Python 3.11 or newer by itself, whatever its binary is called."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAKE = shutil.which("make")
NEW = os.path.realpath(sys.executable)  # the interpreter running the tests: 3.11 or newer

pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def clone(tmp_path: Path, pythons: dict[str, str | None]) -> tuple[Path, dict[str, str]]:
    """A folder with the Makefile, and an environment whose PATH holds only ``pythons``:
    each name runs the tests' interpreter, or (``None``) one too old for calltrail."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, project / name)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, target in pythons.items():
        if target is None:  # answers the version check as Python 3.10 would
            (bin_dir / name).write_text("#!/bin/sh\nexit 1\n")
            (bin_dir / name).chmod(0o755)
        else:
            (bin_dir / name).symlink_to(target)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHON", "MAKEFLAGS", "MAKELEVEL")}
    return project, env | {"PATH": str(bin_dir)}


def make(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    assert MAKE is not None
    command = [MAKE, "-C", str(project), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


def venv_made_with(project: Path, env: dict[str, str], *args: str) -> str:
    """The interpreter ``make`` would make the venv with (a dry run)."""
    done = make(project, env, "-n", ".venv/.installed", *args)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.endswith(" -m venv .venv")]
    assert len(lines) == 1, done.stdout
    return lines[0].removesuffix(" -m venv .venv")


def test_python3_is_used_when_it_is_new_enough(tmp_path: Path) -> None:
    project, env = clone(tmp_path, {"python3": NEW})
    assert venv_made_with(project, env) == "python3"


def test_a_versioned_python_is_found_when_python3_is_too_old(tmp_path: Path) -> None:
    project, env = clone(tmp_path, {"python3": None, "python3.11": None, "python3.12": NEW})
    assert venv_made_with(project, env) == "python3.12"


def test_python_given_on_the_command_line_wins(tmp_path: Path) -> None:
    project, env = clone(tmp_path, {"python3": NEW})
    assert venv_made_with(project, env, f"PYTHON={NEW}") == NEW


@pytest.mark.parametrize("pythons", [{}, {"python3": None, "python3.11": None}])
def test_no_python_new_enough_is_said_plainly(
    tmp_path: Path, pythons: dict[str, str | None]
) -> None:
    project, env = clone(tmp_path, pythons)
    done = make(project, env, ".venv/.installed")
    assert done.returncode != 0
    assert "calltrail needs Python 3.11 or newer" in done.stdout
    assert "set PYTHON=" in done.stdout
    assert "pip" not in done.stdout + done.stderr  # stopped before making the venv
    assert not (project / ".venv").exists()
