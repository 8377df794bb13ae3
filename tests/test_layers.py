"""The design's import rules, one way down: entry points and the HTTP app on top, then the
composition root (service), then the store and the views, then a pure domain.

The simulator is a client: it knows the domain's vocabulary, never the server's insides.
Nothing imports ``api`` (uvicorn loads it by name) or ``entrypoints``; only ``api`` imports
the web console, which sits beside it over the same reads.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "domain",
    "store",
    "projections",
    "service",
    "entrypoints",
    "api",
    "console",
    "simulator",
)
# What each package may import from the project (besides itself).
ALLOWED = {
    "domain": set(),
    "store": {"domain"},
    "projections": {"domain"},
    "service": {"domain", "store", "projections"},
    "entrypoints": {"domain", "store", "projections", "service", "simulator"},
    "api": {"domain", "store", "projections", "service", "console"},
    # The web console reads what the read API reads; the app (api/app.py) mounts it.
    "console": {"domain", "store", "projections", "service"},
    "simulator": {"domain"},
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_project_imports_point_one_way(package: str) -> None:
    for path in modules(package):
        for name in imports_of(path):
            top = name.split(".")[0]
            if top in PACKAGES and top != package:
                assert top in ALLOWED[package], f"{path.relative_to(ROOT)} imports {name}"


def test_the_domain_imports_only_the_standard_library_and_eventsourcing_domain() -> None:
    for path in modules("domain"):
        for name in imports_of(path):
            top = name.split(".")[0]
            ok = top in sys.stdlib_module_names or top == "domain" or name == "eventsourcing.domain"
            assert ok, f"{path.relative_to(ROOT)} imports {name}"


def test_the_rules_can_fail() -> None:
    """Guard against a checker that sees nothing: the domain must import something."""
    assert any(imports_of(path) for path in modules("domain"))
    assert "eventsourcing.domain" in imports_of(ROOT / "domain" / "call.py")
