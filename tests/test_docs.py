"""The README and docs/ as a newcomer reads them: the README short, every page
linked, the architecture page stating the contract pyproject.toml holds, every
Python line in them valid Python, and the README's tour run as written, each
shell of it (``$ sudo scapy-dhcp --lab ...``) against the lab it names."""

from __future__ import annotations

import ast
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)


def blocks(path: Path) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(path.read_text())]


def prompt_lines(text: str) -> list[str]:
    """The code of each ``In [n]:`` line (a magic or a shell escape is not Python)."""
    return [line.split(":", 1)[1].strip() for line in text.splitlines() if re.match(r"\s*In \[\d+\]:", line)]


def test_the_readme_is_short_and_links_every_page():
    text = README.read_text()
    assert len(text.splitlines()) <= 300
    linked = set(re.findall(r"\]\((docs/[\w.-]+\.md)\)", text))
    assert linked == {f"docs/{p.name}" for p in DOCS}
    assert "./dev.sh lab" in text and "./dev.sh test" in text   # the two commands


def test_the_architecture_page_states_the_contract():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    page = (ROOT / "docs" / "architecture.md").read_text()
    toml = next(code for lang, code in blocks(ROOT / "docs" / "architecture.md") if lang == "toml")
    assert tomllib.loads(toml)["layers"] == layers
    for layer in (name for entry in layers for name in entry.split(" | ")):
        assert re.search(rf"(^|, ){re.escape(layer)}\b", page, re.M), layer


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.name)
def test_every_python_line_in_the_docs_is_python(path):
    for lang, code in blocks(path):
        if lang == "python":
            ast.parse(code)
        for line in prompt_lines(code):
            if not line.startswith(("%", "!")):
                ast.parse(line.split("  #")[0])


def tour() -> list[tuple[str, list[str], str]]:
    """The README's tour: (its heading, the scapy-dhcp words, the code typed at that prompt)."""
    text = README.read_text()
    tour_text = text[text.index("## A five-minute tour"):text.index("## Further reading")]
    shells: list[tuple[str, list[str], str]] = []
    heading = ""
    for line in tour_text.splitlines():
        if line.startswith("### "):
            heading = line[4:]
        elif line.startswith("$ sudo scapy-dhcp"):
            shells.append((heading, shlex.split(line[len("$ sudo scapy-dhcp"):], comments=True), ""))
        elif shells and re.match(r"In \[\d+\]:", line):
            code = line.split(":", 1)[1].split("  #")[0].strip()
            shells[-1] = (shells[-1][0], shells[-1][1], shells[-1][2] + code + "\n")
    return shells


def test_the_tour_has_a_shell_for_each_role():
    labs = [words for _h, words, _c in tour()]
    assert ["--lab", "kea"] in labs and ["--lab-client", "udhcpc"] in labs and ["--lab", "kea6"] in labs


@pytest.mark.lab
@pytest.mark.parametrize("heading, words, code", tour(), ids=[" ".join(words) for _h, words, _c in tour()])
def test_the_readme_tour_runs_as_written(heading, words, code, tmp_path):
    """``scapy-dhcp WORDS -c CODE``: the tour's lines, each shell against its own lab; the command
    exits non-zero if any line raised (a helper, an argument or an attribute the README names that
    does not exist, a timeout)."""
    run = [sys.executable, "-c", "from scapy_dhcp_ext.front.cli import main; raise SystemExit(main())",
           *words, "-c", code]
    proc = subprocess.run(run, capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env={"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                               "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path), "LANG": "C.UTF-8"})
    assert proc.returncode == 0, f"{heading}: {proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
