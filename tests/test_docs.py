"""The README and docs/ as a newcomer reads them: the README short, every page
linked, the architecture page stating the contract pyproject.toml holds, every
Python line in them valid Python, the README's tour run as written, each
shell of it (``$ sudo scapy-dhcp --lab ...``) against the lab it names, and
every command of docs/ run too.

A block in docs/ says how it runs in its fence's info string, after the
language (GitHub shows only the language):

- ```` ```python scapy-dhcp --lab kea ````: the block is the code of
  ``scapy-dhcp --lab kea -c CODE``; ```` ```text scapy-dhcp ... ```` the same
  with its ``In [n]:`` lines (IPython's syntax, magics too);
- ```` ```text ipython eth1=kea ````: its ``In [n]:`` lines in plain IPython;
- ```` ```python pytest --dhcp-lab kea ````: the block is a test file, run so;
- ```` ```python run ````: a script;
- ```` ```sh run ```` or ```` ```sh eth1=kea ````: each line a command, run with
  ``sudo`` left off, ``$P`` the venv's pytest and, with ``eth1=KIND``, ``eth1``
  a lab link to a KIND server (or client) started for the block;
- ``exit=0,1`` after the spec: the exit statuses a command may end with (a
  conformance run exits 1 when the device fails a check: the lab's udhcpc does);
- ```` not run: WHY ````: what cannot run on a test machine (a board's power
  switch, a coordinator, the set-up of another host), and why.

Each command must exit 0; a block with commands and none of these fails."""

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
SPEC_FENCE = re.compile(r"^```(\w*)[ \t]*([^\n]*)\n(.*?)^```", re.M | re.S)
VENV_BIN = Path(sys.executable).parent


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


def doc_blocks() -> list[tuple[str, str, str, str]]:
    """(page and line, language, run spec, code) of every block in docs/ that holds commands."""
    found = []
    for path in DOCS:
        text = path.read_text()
        for m in SPEC_FENCE.finditer(text):
            lang, spec, code = m.groups()
            if lang in ("python", "sh") or prompt_lines(code):
                found.append((f"{path.name}:{text[:m.start()].count(chr(10)) + 1}", lang, spec.strip(), code))
    return found


RUNNABLE = [b for b in doc_blocks() if not b[2].startswith("not run")]


def test_every_block_of_commands_in_the_docs_says_how_it_runs():
    for where, lang, spec, _code in doc_blocks():
        assert spec, f"{where}: a ```{lang} block with commands says how it runs (see this file's docstring)"
        if spec.startswith("not run"):
            assert re.match(r"not run: \S.{20,}", spec), f"{where}: 'not run: WHY' says why"
        else:
            assert re.match(r"(scapy-dhcp|ipython|pytest|run\b|eth1=)", spec), f"{where}: unknown spec {spec!r}"
    left_out = [b for b in doc_blocks() if b[2].startswith("not run")]
    assert len(left_out) <= 5, [w for w, *_ in left_out]   # a few, each with its reason; the rest run


def _env(tmp_path: Path) -> dict[str, str]:
    return {"PATH": f"{VENV_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"), "LANG": "C.UTF-8"}


def _lab_link(spec: str):
    """The lab an ``eth1=KIND`` spec asks for (a server or a client at the far end), or None."""
    from scapy_dhcp_ext.lab import CLIENT_KINDS, Lab

    kind = re.search(r"eth1=(\S+)", spec)
    if kind is None:
        return None
    return Lab([], clients=[kind.group(1)]) if kind.group(1) in CLIENT_KINDS else Lab([kind.group(1)])


def _shell_lines(code: str) -> list[str]:
    lines = [line.split("  #")[0].strip() for line in code.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def _run(argv: list[str], tmp_path: Path, where: str, exits: tuple[int, ...] = (0,)) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=_env(tmp_path),
                          stdin=subprocess.DEVNULL)
    out = proc.stdout + proc.stderr
    assert proc.returncode in exits, f"{where}: exit {proc.returncode}\n{out[-4000:]}"
    if proc.returncode:
        return out   # a run that says the device failed: its own error lines are the report
    # IPython prints an exception and may still exit 0: any error line fails the block too.
    errors = re.findall(r"^\w*(?:Error|Timeout|Exception|Interrupted)\b:.*$", out, re.M)
    assert not errors, f"{where}: {errors}"
    return out


@pytest.mark.lab
@pytest.mark.parametrize("where, lang, spec, code", RUNNABLE, ids=[b[0] for b in RUNNABLE])
def test_every_command_in_the_docs_runs(where, lang, spec, code, tmp_path):
    """Each block as its spec says, against a lab made for it; see this file's docstring."""
    (tmp_path / "state").mkdir()
    exits = tuple(int(x) for x in re.search(r"exit=([\d,]+)", spec).group(1).split(",")) if "exit=" in spec else (0,)
    spec = re.sub(r"\s*exit=\S+", "", spec)
    lab = _lab_link(spec)
    iface = lab.start().iface if lab is not None else "eth1"
    try:
        if spec.startswith("scapy-dhcp"):
            body = code if lang == "python" else "\n".join(line.split("  #")[0] for line in prompt_lines(code))
            _run([sys.executable, "-c", "from scapy_dhcp_ext.front.cli import main; raise SystemExit(main())",
                  *shlex.split(spec)[1:], "-c", body], tmp_path, where)
        elif spec.startswith("ipython"):
            body = "\n".join(line.split("  #")[0] for line in prompt_lines(code)).replace("eth1", iface)
            _run([sys.executable, "-m", "IPython", "--no-banner", "--HistoryManager.enabled=False", "-c", body],
                 tmp_path, where)
        elif spec.startswith("pytest"):
            (tmp_path / "test_from_the_docs.py").write_text(code)
            out = _run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *shlex.split(spec)[1:],
                        "test_from_the_docs.py"], tmp_path, where)
            assert " passed" in out and " failed" not in out, out
        elif lang == "python":
            _run([sys.executable, "-c", code], tmp_path, where)
        else:
            for line in _shell_lines(code):
                command = re.sub(r"^sudo ", "", line).replace("$P", f"{sys.executable} -m pytest -p no:cacheprovider")
                command = re.sub(r"\beth1\b", iface, command).replace("./dev.sh", str(ROOT / "dev.sh"))
                _run(["bash", "-c", command], tmp_path, f"{where}: {line}", exits)
    finally:
        if lab is not None:
            lab.stop()
