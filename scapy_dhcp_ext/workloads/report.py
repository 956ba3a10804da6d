"""One report for every result with rows: checks, the length and malformed
sweeps, the reply sweep, loads, v4 and v6 alike.

Every report answers the same names with the same meaning::

    >>> r = check_server()                 # or sweep_lengths(), sweep_replies(), load() ...
    >>> r.headline()                       # one line (two when a case killed the device)
    >>> r.rows, r.failed                   # every row; the rows that failed
    >>> r.to_json("r.json"), r.to_junit("r.xml"), r.to_pcap("r.pcapng"), r.plot("r.png"), r.to_html("r.html")

Each writer returns the path it wrote (``to_json()`` with no path returns the
text). ``to_pcap`` writes pcapng, every frame commented with its row and
verdict (``tshark -T fields -e frame.comment``). ``to_html`` writes one
self-contained file a person opens from a CI artifact: the headline, the table,
the plot inline, and each row's frames as a hex view.

A row (:class:`ReportRow`) gives the report its ``key``, ``verdict``, ``why``,
``seconds``, the cells of the table and its evidence (direction, bytes, time).
"""

from __future__ import annotations

import base64
import collections
import html
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, ClassVar, Iterable, Protocol

from ..errors import UsageError
from ..wire.frames4 import parse_any

# Colours by verdict, one table for every report (a word means one thing everywhere).
COLOURS = {"pass": "#2b8a3e", "accepted": "#2b8a3e", "answered": "#2b8a3e", "ok": "#2b8a3e",
           "warn": "#f08c00", "rejected": "#1c7ed6", "ignored": "#74c0fc", "fail": "#e03131", "dead": "#e03131",
           "dropped": "#e03131", "inconclusive": "#ae3ec9", "n/a": "#868e96", "skipped": "#868e96",
           "no reply": "#adb5bd", "not run": "#ced4da"}
ROLES = {"out": "ours", "in": "the device's", "hostile": "the case's reply"}


class ReportRow(Protocol):
    """What a report needs of its rows."""

    verdict: str
    why: str
    seconds: float

    @property
    def key(self) -> str: ...

    def cells(self) -> list[str]: ...

    def evidence(self) -> list[tuple[str, bytes, float]]: ...

    def to_dict(self) -> dict[str, Any]: ...


def frame_dicts(frames: Iterable[tuple[str, bytes, float]]) -> list[dict[str, Any]]:
    """A row's evidence as JSON: direction, time, a one-line summary and the bytes in hex."""
    return [{"dir": d, "t": t, "summary": parse_any(raw).summary(), "hex": raw.hex()} for d, raw, t in frames]


def hex_view(raw: bytes) -> str:
    """16 bytes a line: offset, hex, ASCII."""
    lines = []
    for at in range(0, len(raw), 16):
        chunk = raw[at:at + 16]
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{at:04x}  {chunk.hex(' '):47}  {text}")
    return "\n".join(lines)


class Report:
    """The base of every report; see the module's docstring. A report keeps its
    rows in ``rows``; subclasses say what their table shows (``COLUMNS``), which
    verdicts count as failed, errors and skips in JUnit, and their headline."""

    KIND: ClassVar[str] = "report"              # the JUnit suite's and the HTML title's word
    KEY_HEADER: ClassVar[str] = "row"            # the table's first header: what a row is
    COLUMNS: ClassVar[tuple[str, ...]] = ()     # the table's headers, after the row's key
    FAILED: ClassVar[tuple[str, ...]] = ("fail",)
    ERRORS: ClassVar[tuple[str, ...]] = ("inconclusive",)
    SKIPPED: ClassVar[tuple[str, ...]] = ("n/a", "not run", "skipped")

    rows: list[Any]
    elapsed: float
    interrupted: bool

    # -- what every report answers ------------------------------------------------

    def headline(self) -> str:
        raise NotImplementedError

    def summary(self) -> str:
        """The headline's first line."""
        return self.headline().splitlines()[0]

    @property
    def failed(self) -> list[Any]:
        """The rows whose verdict is a failure (a check's ``fail``, a case that killed the device, ...)."""
        return [r for r in self.rows if r.verdict in self.FAILED]

    def verdicts(self) -> dict[str, str]:
        return {r.key: r.verdict for r in self.rows}

    def counts(self) -> dict[str, int]:
        return dict(collections.Counter(r.verdict for r in self.rows))

    def __getitem__(self, key: str) -> Any:
        for row in self.rows:
            if row.key == key:
                return row
        raise KeyError(f"no row {key!r} in this report")

    def to_dict(self) -> dict[str, Any]:
        """The report as data: its own fields (subclasses add theirs) and every row."""
        return {"kind": self.KIND, "headline": self.headline(), "elapsed_s": round(self.elapsed, 3),
                "interrupted": self.interrupted, "counts": self.counts(), "rows": [r.to_dict() for r in self.rows]}

    # -- text ---------------------------------------------------------------------

    def display_rows(self) -> list[tuple[Any, list[str]]]:
        """What the table shows, a line each: the row that gives the line its verdict
        and frames, and the line's cells. A sweep groups its rows; the others show each."""
        return [(r, [r.key, *r.cells()]) for r in self.rows]

    def table(self) -> list[list[str]]:
        """The table a terminal, Jupyter and the HTML file show: the header row first."""
        return [[self.KEY_HEADER, *self.COLUMNS]] + [cells for _r, cells in self.display_rows()]

    def __repr__(self) -> str:
        table = self.table()
        widths = [min(44, max(len(row[i]) for row in table)) for i in range(len(table[0]) - 1)]
        lines = [self.headline()]
        for row in table:
            lines.append("  " + " ".join(f"{cell:{w}}" for cell, w in zip(row, widths)) + " " + row[-1])
        lines += self.footnotes()
        return "\n".join(lines)

    def footnotes(self) -> list[str]:
        """Lines under the terminal's table (what a mark in it means)."""
        return []

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def _html_table(self, hex_rows: bool = False) -> str:
        header = self.table()[0]
        verdict_at = header.index("verdict") if "verdict" in header else -1
        cells = []
        for row, values in self.display_rows():
            colour = COLOURS.get(row.verdict, "#000")
            tds = "".join(f"<td>{html.escape(v)}</td>" if k != verdict_at
                          else f"<td class='verdict' style='color:{colour}'><b>{html.escape(v)}</b></td>"
                          for k, v in enumerate(values))
            cells.append(f"<tr>{tds}</tr>")
            if hex_rows and row.evidence():
                frames = "".join(
                    f"<p>{html.escape(ROLES.get(d, d))} at {t:.6f}: {html.escape(parse_any(raw).summary())}</p>"
                    f"<pre class='hex'>{html.escape(hex_view(raw))}</pre>" for d, raw, t in row.evidence())
                cells.append(f"<tr class='frames'><td colspan='{len(values)}'><details><summary>"
                             f"{len(row.evidence())} frames</summary>{frames}</details></td></tr>")
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(cells)}</tbody></table>"

    def _repr_html_(self) -> str:
        head = html.escape(self.headline()).replace("\n", "<br>")
        return f"<p>{head}</p>{self._html_table()}"

    # -- files --------------------------------------------------------------------

    def to_json(self, path: str | None = None) -> str:
        """Writes the report as JSON (every row with its frames in hex) and returns
        the path; without a path, returns the JSON text."""
        text = json.dumps(self.to_dict(), indent=1, default=str)
        if path is None:
            return text
        Path(path).write_text(text)
        return path

    def to_junit(self, path: str) -> str:
        """JUnit XML, one ``<testcase>`` per row with its properties (a check's RFC
        clause and level, a case's citation, the verdict): a failed verdict is a
        failure, an inconclusive one an error, n/a or not run a skip."""
        counts = self.counts()
        suite = ET.Element("testsuite", name=f"scapy-dhcp {self.KIND}", tests=str(len(self.rows)),
                           failures=str(sum(counts.get(v, 0) for v in self.FAILED)),
                           errors=str(sum(counts.get(v, 0) for v in self.ERRORS)),
                           skipped=str(sum(counts.get(v, 0) for v in self.SKIPPED)), time=f"{self.elapsed:.3f}")
        classname = "scapy_dhcp." + self.KIND.replace(" ", "_")
        for r in self.rows:
            case = ET.SubElement(suite, "testcase", classname=classname, name=r.key, time=f"{r.seconds:.3f}")
            props = ET.SubElement(case, "properties")
            for name, value in self.junit_properties(r):
                ET.SubElement(props, "property", name=name, value=str(value))
            frames = "\n".join(f"{d} {parse_any(raw).summary()}" for d, raw, _t in r.evidence())
            if r.verdict in self.FAILED:
                ET.SubElement(case, "failure", message=r.why, type=r.verdict).text = frames
            elif r.verdict in self.ERRORS:
                ET.SubElement(case, "error", message=r.why).text = frames
            elif r.verdict in self.SKIPPED:
                ET.SubElement(case, "skipped", message=r.why or r.verdict)
            else:
                ET.SubElement(case, "system-out").text = f"{r.verdict}: {r.why}\n{frames}"
        ET.indent(suite)
        Path(path).write_text(ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n")
        return path

    def junit_properties(self, row: Any) -> list[tuple[str, Any]]:
        return [("verdict", row.verdict)]

    def comment(self, row: Any, direction: str) -> str:
        """A frame's pcapng comment: its row, the verdict and whose frame it is."""
        return f"{row.key}: {row.verdict}; {ROLES.get(direction, direction)}"

    def to_pcap(self, path: str, rows: Iterable[str] | None = None) -> str:
        """Every frame of every row (or of the rows named) as pcapng, each
        commented with its row and verdict (tshark shows it as frame.comment)."""
        from scapy.utils import PcapNgWriter

        wanted = set(rows) if rows is not None else None
        with PcapNgWriter(path) as writer:
            for r in self.rows:
                if wanted is not None and r.key not in wanted:
                    continue
                for direction, raw, t in r.evidence():
                    pkt = parse_any(raw).packet
                    pkt.time = t
                    pkt.comment = self.comment(r, direction).encode()
                    writer.write(pkt)
        return path

    def plot(self, path: str | None = None) -> Any:
        """One bar per row, its length the seconds it took, coloured by verdict
        (needs matplotlib: the ``plot`` extra). Saves to ``path`` and returns it;
        without a path, returns the figure (Jupyter shows it)."""
        plt = pyplot(path)
        rows = self.rows
        fig, ax = plt.subplots(figsize=(8, max(3.0, 0.18 * len(rows) + 1)))
        ax.barh(range(len(rows)), [r.seconds for r in rows], color=[COLOURS.get(r.verdict, "#000") for r in rows])
        ax.set_yticks(range(len(rows)), [r.key for r in rows], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("seconds")
        ax.set_title(self.summary(), fontsize=9)
        legend(ax, rows)
        return finish(fig, path)

    def to_html(self, path: str) -> str:
        """One self-contained HTML file: the headline, the table, the plot inline (when
        matplotlib is there) and each row's frames as a hex view. Returns the path."""
        figure = ""
        try:
            fig = self.plot(None)
        except (UsageError, ValueError):
            fig = None
        if fig is not None:
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
            import matplotlib.pyplot as plt

            plt.close(fig)
            figure = f"<img alt='plot' src='data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}'>"
        head = html.escape(self.headline()).replace("\n", "<br>")
        page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>scapy-dhcp {html.escape(self.KIND)}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
th, td {{ border-bottom: 1px solid #dee2e6; padding: 0.2em 0.6em; text-align: left;
  vertical-align: top; }}
pre.hex {{ font-size: 0.8em; background: #f8f9fa; padding: 0.4em; }}
</style></head>
<body><h1>scapy-dhcp {html.escape(self.KIND)}</h1><p class="headline">{head}</p>
{figure}
{self._html_table(hex_rows=True)}
</body></html>
"""
        Path(path).write_text(page)
        return path


def pyplot(path: str | None) -> Any:
    """matplotlib's pyplot (headless when the figure goes to a file), or a one-line UsageError."""
    try:
        import matplotlib

        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("plot() needs matplotlib: pip install 'scapy-dhcp[plot]'") from None
    return plt


def legend(ax: Any, rows: list[Any]) -> None:
    from matplotlib.patches import Patch

    seen = [v for v in COLOURS if any(r.verdict == v for r in rows)]
    if seen:
        ax.legend(handles=[Patch(color=COLOURS[v], label=v) for v in seen], loc="lower right", fontsize=7)


def finish(fig: Any, path: str | None) -> Any:
    """The figure laid out: saved to ``path`` (returned), or returned itself."""
    fig.tight_layout()
    if path is None:
        return fig
    import matplotlib.pyplot as plt

    fig.savefig(path)
    plt.close(fig)
    return path
