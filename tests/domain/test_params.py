"""``READ_PARAMS`` names exactly the Plivo parameters the domain's modules read."""

from __future__ import annotations

import ast
from pathlib import Path

from domain.params import READ_PARAMS

DOMAIN = Path(__file__).resolve().parents[2] / "domain"


def read_in(path: Path) -> set[str]:
    """The names a module reads as ``<mapping>.get("Name", …)``: how the domain reads params.

    Plivo's names are CamelCase; lower-case ``.get`` keys are the domain's own tables.
    """
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (
            isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
        ):
            continue
        func, name = node.func, node.args[0].value
        is_get = (isinstance(func, ast.Attribute) and func.attr == "get") or (
            isinstance(func, ast.Name) and func.id == "get"
        )
        if is_get and isinstance(name, str) and name[:1].isupper():
            names.add(name)
    return names


def test_read_params_are_exactly_the_names_the_domain_reads() -> None:
    read = set().union(*(read_in(path) for path in sorted(DOMAIN.glob("*.py"))))
    # The scan sees both styles: ``params.get("…")`` and ``get = params.get; get("…")``.
    assert {"CallUUID", "DialBLegHangupSource"} <= read
    assert read == READ_PARAMS
