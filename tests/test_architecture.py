"""The folder tree is the architecture: each package imports only from the layers before it in the
order data flows, reports are rendered without the engine, and no module imports another's
private names. Checked on the source (every import, at module level or inside a function)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SUITE = Path(__file__).resolve().parent.parent / "suite"

LAYERS = ("numerics", "files", "inputs", "implementations", "environment", "audit", "sweep", "report", "cli")
"""Packages (and top-level modules) in the order data flows: each may import the ones before it."""

REPORT_MAY_IMPORT = {"numerics", "files", "report"}
"""A report is rendered from the run's JSON alone: no engine, no implementation, no measurement."""

DRIVERS = {("suite.audit.plugin", "report")}
"""Drivers that call a later layer once their work is done (the plugin renders the reports of the
run file it has just written)."""


def modules() -> dict[str, Path]:
    out = {}
    for path in SUITE.rglob("*.py"):
        name = ".".join(path.relative_to(SUITE.parent).with_suffix("").parts).removesuffix(".__init__")
        out[name] = path
    return out


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every ``import``/``from ... import`` of a suite module in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "suite":
            found.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.split(".")[0] == "suite"]
    return found


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None  # "suite" itself: the public re-exports


@pytest.mark.parametrize("module", sorted(modules()), ids=str)
def test_imports_follow_the_layers(module):
    own = layer_of(module)
    if own is None:
        return
    assert own in LAYERS, f"{module}: a package that is not in LAYERS"
    for target, names in imports(modules()[module]):
        targets = [target] + [f"{target}.{n}" for n in names if f"{target}.{n}" in modules()]
        for t in targets:
            layer = layer_of(t)
            if layer is None or layer == own or (module, layer) in DRIVERS:
                continue
            assert LAYERS.index(layer) < LAYERS.index(own), f"{module} reaches forward into {t}"
            if own == "report":
                assert layer in REPORT_MAY_IMPORT, f"{module} imports {t}: a report comes from the JSON alone"


@pytest.mark.parametrize("module", sorted(modules()), ids=str)
def test_no_module_imports_another_modules_private_names(module):
    for target, names in imports(modules()[module]):
        if target == module:
            continue
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        assert not private, f"{module} imports private {private} from {target}"
        assert not any(part.startswith("_") for part in target.split(".")), f"{module} imports private {target}"


def test_the_layers_name_every_package():
    packages = {layer_of(m) for m in modules()} - {None}
    assert packages == set(LAYERS)
