"""Executes the example notebooks top to bottom with nbclient, against the lab.

    ./dev.sh notebooks       runs them and writes their outputs back (to commit)

The tests call ``execute`` and fail on any cell error. The kernel gets its own
state folder (XDG_STATE_HOME), so runs leave the user's state alone."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

FOLDER = Path(__file__).resolve().parents[2] / "notebooks_examples"


def notebooks() -> list[Path]:
    return sorted(FOLDER.glob("*.ipynb"))


def execute(path: Path, timeout: int = 180) -> nbformat.NotebookNode:
    """Runs every cell in a fresh kernel; raises CellExecutionError on the first error."""
    nb = nbformat.read(path, as_version=4)
    old = os.environ.get("XDG_STATE_HOME")
    state = tempfile.mkdtemp(prefix="scapy-dhcp-nb-")
    os.environ["XDG_STATE_HOME"] = state
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        if old is None:
            os.environ.pop("XDG_STATE_HOME", None)
        else:
            os.environ["XDG_STATE_HOME"] = old
        shutil.rmtree(state, ignore_errors=True)  # the kernel's state folder goes with the run
    return nb


WIDGET = "application/vnd.jupyter.widget-view+json"


def without_widgets(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Progress bars are live widgets: saved, they would show their first state only."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if WIDGET not in o.get("data", {})]
    nb.metadata.pop("widgets", None)
    return nb


def main() -> int:
    for path in notebooks():
        print(f"running {path.name}", file=sys.stderr)
        nbformat.write(without_widgets(execute(path)), path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
