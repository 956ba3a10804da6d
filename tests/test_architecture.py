"""The package's shape, checked: the layers contract in pyproject.toml, no import
cycle (imports inside functions and under TYPE_CHECKING counted), no module over
400 lines, and a package root that holds the façade and the layer folders.

These read the source only (grimp parses it; nothing is imported), so they run
as an ordinary user without network tools."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import pytest
import tomllib
from importlinter.cli import EXIT_STATUS_SUCCESS, lint_imports

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "scapy_dhcp_ext"
LAYERS = ["front", "session", "lab", "workloads", "roles", "state", "link", "wire"]
# The root's modules besides the folders: the façade, the leaf of errors and the version,
# and the two names users' files import (labgrid environments, copied Scapy startup files).
ROOT_MODULES = {"__init__.py", "errors.py", "_version.py", "labgrid.py", "shell.py"}


def _graph() -> grimp.ImportGraph:
    sys.path.insert(0, str(ROOT))   # grimp finds the package where the tests run, not an installed copy
    try:
        return grimp.build_graph("scapy_dhcp_ext", cache_dir=None)
    finally:
        sys.path.remove(str(ROOT))


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_cycle_finder_finds_a_cycle():
    """The oracle below must be able to fail."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_layers_contract_is_kept(capsys):
    """An upward import (a role importing a workload, the wire importing the link ...)
    breaks it; lint-imports' own report is printed on failure."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")
    assert [name for layer in layers["layers"] for name in layer.split(" | ")][:len(LAYERS)] == LAYERS
    sys.path.insert(0, str(ROOT))
    try:
        status = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    finally:
        sys.path.remove(str(ROOT))
    out = capsys.readouterr().out
    assert status == EXIT_STATUS_SUCCESS, out
    assert f"{len(contracts)} kept, 0 broken" in out, out


def test_no_import_cycle():
    graph = _graph()
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert _cycles(edges) == []


def test_no_module_over_400_lines():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {p: n for p, n in sizes.items() if n > 400} == {}


def test_the_root_holds_the_facade_and_the_layer_folders():
    modules = {p.name for p in PACKAGE.glob("*.py")}
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert modules == ROOT_MODULES
    assert folders == set(LAYERS)


@pytest.mark.parametrize("shim", ["scapy_dhcp_ext.labgrid", "scapy_dhcp_ext.shell"])
def test_the_names_users_files_import_still_resolve(shim):
    """A labgrid environment imports scapy_dhcp_ext.labgrid; a Scapy startup file copied
    before the move imports scapy_dhcp_ext.shell."""
    graph = _graph()
    assert shim in graph.modules
    assert graph.find_modules_directly_imported_by(shim) <= {m for m in graph.modules if ".front." in m}


def test_the_facade_exports_both_roles_and_both_families_lazily():
    """``from scapy_dhcp_ext import *`` gives the public names of the client and server
    roles, v4 and v6; ``import scapy_dhcp_ext`` alone imports none of the layers."""
    code = ("import sys, scapy_dhcp_ext as p; layered = [m for m in sys.modules if m.startswith('scapy_dhcp_ext.')"
            " and m.split('.')[1] not in ('errors', '_version')]; ns = {}; exec('from scapy_dhcp_ext import *', ns);"
            " print(layered, sorted(set(p._LAZY) - set(p.__all__)), sorted(set(p.__all__) - set(ns)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.split() == ["[]", "[]", "[]"]
    import scapy_dhcp_ext

    for name in ("DhcpSession", "Dhcp6Session", "DhcpServer", "serve", "Lease6", "Report", "parse_frame6"):
        assert name in scapy_dhcp_ext.__all__
