"""The shape of the code, measured on its imports (grimp, import-linter's graph; every import
counts, function-local ones included). The layer contracts are in pyproject.toml and run by
`make lint`; what they cannot say is checked here."""

from __future__ import annotations

import grimp

from notify.stack.procs import ROOT


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph("notify", "channels", include_external_packages=False)


def _cycles(graph: grimp.ImportGraph, prefix: str) -> list[list[str]]:
    """Strongly connected components of more than one module among those under `prefix`."""
    modules = sorted(m for m in graph.modules if m.startswith(prefix))
    edges = {
        m: sorted(i for i in graph.find_modules_directly_imported_by(m) if i.startswith(prefix))
        for m in modules
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in edges[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in modules:
        if module not in index:
            visit(module)
    return found


def test_no_import_cycle_among_service_modules() -> None:
    assert _cycles(_graph(), "notify.services.") == []


def test_the_cycle_finder_finds_one() -> None:
    graph = grimp.ImportGraph()
    for a, b in (("x.a", "x.b"), ("x.b", "x.c"), ("x.c", "x.a"), ("x.c", "x.d")):
        graph.add_import(importer=a, imported=b)
    assert _cycles(graph, "x.") == [["x.a", "x.b", "x.c"]]


def test_no_module_is_over_about_300_lines() -> None:
    """A module past ~300 lines holds more than one idea; split it along a real seam."""
    limit = 320
    long = {
        str(path.relative_to(ROOT)): lines
        for folder in ("notify", "channels", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if "migrations" not in path.parts and (lines := len(path.read_text().splitlines())) > limit
    }
    assert long == {}


def test_every_service_module_has_its_test_module() -> None:
    """Tests mirror the source: notify/services/<group>/<name>.py is tested by
    tests/services/<group>/test_<name>.py (and may have test_<name>_<subject>.py beside it)."""
    services = ROOT / "notify" / "services"
    missing = [
        str(source.relative_to(ROOT))
        for source in sorted(services.rglob("*.py"))
        if source.name != "__init__.py"
        and not (
            ROOT / "tests" / source.parent.relative_to(ROOT / "notify") / f"test_{source.name}"
        ).exists()
    ]
    assert missing == []
