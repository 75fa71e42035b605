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
        " config host_time",
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


def _imports_asyncio(tree: ast.AST) -> bool:
    for n in ast.walk(tree):
        if isinstance(n, ast.Import) and any(a.name.split(".")[0] == "asyncio" for a in n.names):
            return True
        if isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "asyncio":
            return True
    return False


def test_asyncio_only_at_the_ble_edge():
    """The event loop lives in ``sources/ble`` (its own thread, ``sources/ble/edge.py``);
    everything else, the live runner included, is plain synchronous code."""
    users = [name for name, tree in MODULES if _imports_asyncio(tree)]
    outside = [u for u in users if not u.startswith("imuhip.sources.ble")]
    assert not outside, f"asyncio imported outside imuhip.sources.ble: {outside}"
    assert "imuhip.sources.ble.edge" in users  # the check sees imports (it can fail)


#: Longest function body, lines (``end_lineno - lineno``): a function reads at once.
MAX_FUNCTION_LINES = 80

#: Functions allowed over the limit, "module:qualified name" -> why.
LONG_FUNCTIONS_ALLOWED = {}


def _functions(tree: ast.AST, prefix: str = ""):
    for n in ast.iter_child_nodes(tree):
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef):
            yield f"{prefix}{n.name}", n
            yield from _functions(n, f"{prefix}{n.name}.")
        elif isinstance(n, ast.ClassDef):
            yield from _functions(n, f"{prefix}{n.name}.")


def _long_functions() -> dict[str, int]:
    out = {}
    for name, tree in MODULES:
        for qual, fn in _functions(tree):
            length = fn.end_lineno - fn.lineno
            if length > MAX_FUNCTION_LINES:
                out[f"{name}:{qual}"] = length
    return out


def test_functions_are_short_enough_to_read_at_once():
    long = _long_functions()
    new = {f: n for f, n in long.items() if f not in LONG_FUNCTIONS_ALLOWED}
    assert not new, f"functions over {MAX_FUNCTION_LINES} lines: split them into steps: {new}"
    stale = sorted(set(LONG_FUNCTIONS_ALLOWED) - set(long))
    assert not stale, f"allowed long functions that are short now (drop them): {stale}"


def test_the_length_check_finds_a_long_function():
    tree = ast.parse("class A:\n    def f(self):\n" + "        x = 1\n" * 90)
    ((qual, fn),) = list(_functions(tree))
    assert qual == "A.f" and fn.end_lineno - fn.lineno > MAX_FUNCTION_LINES


def test_replay_runs_without_asyncio():
    """``imuhip replay`` never loads the BLE edge: no event loop, no bleak."""
    import subprocess
    import sys

    rec = SRC.parent.parent / "recordings" / "prone-left-holds-polar-simulated.imuhip"
    code = (
        "import sys\n"
        "from imuhip.cli import main\n"
        f"assert main(['replay', '--speed', 'max', '--plain', {str(rec)!r}]) == 0\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('asyncio', 'bleak'))\n"
        "assert not loaded, loaded\n"
    )
    env = {**__import__("os").environ, "PYTHONPATH": str(SRC.parent)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "result:" in done.stdout or "not calibrated" in done.stdout
