"""Every example notebook runs top to bottom against the lab; a failing one leaves nothing behind."""

from __future__ import annotations

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell, new_notebook

from tests.support.labs import left_behind, ours
from tests.support.run_notebooks import execute, notebooks

pytestmark = pytest.mark.lab  # root, namespaces and the real servers


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.stem)
def test_notebook_runs_clean(path):
    before = ours()
    nb = execute(path)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    assert not left_behind(before)


def test_the_notebooks_are_there():
    names = [p.stem for p in notebooks()]
    assert names == ["01-getting-started", "02-sweeping-lengths", "03-crafting-by-hand", "04-serving-a-client",
                     "05-dhcpv6", "06-dhcpv6-both-roles"]


def test_a_failing_cell_still_removes_the_lab(tmp_path):
    before = ours()
    nb = new_notebook(cells=[new_code_cell("from scapy_dhcp_ext.lab import Lab\nlab = Lab('dnsmasq').start()"),
                             new_code_cell("raise RuntimeError('a cell fails')"),
                             new_code_cell("lab.stop()")])
    path = tmp_path / "fails.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(CellExecutionError, match="a cell fails"):
        execute(path)
    assert not left_behind(before)
