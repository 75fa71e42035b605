"""The house shows the flow: no module imports from a later stage of the pipeline, and none
imports another package's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parent.parent / "src" / "imuhip"

#: Stages in order; a module may import from its own stage and the ones before it. The first
#: stage is shared ground (data types, errors, the protocol's definitions, small utilities).
STAGES: tuple[frozenset[str], ...] = tuple(
    frozenset(s.split())
    for s in (
        "<root> errors samples layout session quaternion calibration_protocol exercises atomic"
        " config",
        "decode",
        "sources",
        "align",
        "fusion",
        "joint",
        "analysis",
        "files",
        "sim",
        "pipeline",
        "training",
        "sinks",
        "live",
        "cli __main__",
    )
)


def _stage(package: str) -> int:
    for i, names in enumerate(STAGES):
        if package in names:
            return i
    raise AssertionError(f"package {package!r} is in no stage: add it to STAGES")


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "<root>"


def _modules():
    for p in sorted(SRC.rglob("*.py")):
        rel = p.relative_to(SRC.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        yield name, ast.parse(p.read_text())


def _imports(tree: ast.AST):
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("imuhip"):
            yield n.module, [a.name for a in n.names]
        elif isinstance(n, ast.Import):
            for a in n.names:
                if a.name.startswith("imuhip"):
                    yield a.name, []


MODULES = list(_modules())


@pytest.mark.parametrize("name,tree", MODULES, ids=[m[0] for m in MODULES])
def test_no_upward_imports_and_no_private_names(name, tree):
    own = _package(name)
    for module, names in _imports(tree):
        target = _package(module)
        assert _stage(target) <= _stage(own), f"{name} imports {module} (a later stage)"
        if target == own:
            continue
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        assert not private, f"{name} imports private {private} from {module}"
        hidden = [p for p in module.split(".")[1:] if p.startswith("_") and p != "__init__"]
        assert not hidden, f"{name} imports the private module {module}"
