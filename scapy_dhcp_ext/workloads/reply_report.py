"""What ``sweep_replies()`` found: a row per case with its verdict and the
frames that show it, as a table in a terminal, HTML in Jupyter, JSON, a pcapng
whose frames carry the case and verdict as comments, and a plot."""

from __future__ import annotations

import collections
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..wire.frames4 import parse_frame

COLOURS = {"accepted": "#2b8a3e", "rejected": "#1c7ed6", "dead": "#e03131", "skipped": "#868e96",
           "not run": "#ced4da"}


@dataclass
class ReplyRow:
    """One case: what was sent and what the device did. ``frames`` are
    (direction, bytes, time): ``in`` from the device, ``out`` our valid replies,
    ``hostile`` the case's own."""

    name: str
    cite: str
    phase: str
    what: str
    expect: str = ""
    started: float = 0.0
    verdict: str = "not run"
    why: str = ""
    note: str = ""
    seconds: float = 0.0
    frames: list[tuple[str, bytes, float]] = field(default_factory=list)

    @property
    def hostile(self) -> list[bytes]:
        """The case's exact frames, ready to send again (``dhcp.send_packet(row.hostile[0])``)."""
        return [raw for direction, raw, _t in self.frames if direction == "hostile"]

    @property
    def unexpected(self) -> bool:
        return bool(self.expect) and self.verdict in ("accepted", "rejected") and self.verdict != self.expect

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "cite": self.cite, "phase": self.phase, "what": self.what, "expect": self.expect,
                "verdict": self.verdict, "why": self.why, "note": self.note, "seconds": round(self.seconds, 3),
                "frames": [{"dir": d, "t": t, "summary": parse_frame(raw).summary(), "hex": raw.hex()}
                           for d, raw, t in self.frames]}


@dataclass
class ReplyReport:
    """Every case run (``rows``), those not run yet (``remaining``), and
    ``killer``: the first case after which the device was dead."""

    sweep_id: str
    rows: list[ReplyRow] = field(default_factory=list)
    remaining: list[Any] = field(default_factory=list)
    killer: ReplyRow | None = None
    interrupted: bool = False
    stopped: str = ""
    elapsed: float = 0.0
    retry: float | None = None

    @property
    def complete(self) -> bool:
        return not self.remaining and not self.interrupted

    def verdicts(self) -> dict[str, str]:
        return {r.name: r.verdict for r in self.rows}

    def counts(self) -> dict[str, int]:
        return dict(collections.Counter(r.verdict for r in self.rows))

    def __getitem__(self, name: str) -> ReplyRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no case {name!r} in this report")

    def headline(self) -> str:
        counts = ", ".join(f"{n} {v}" for v, n in sorted(self.counts().items()))
        state = "interrupted (sweep_replies(resume=True))" if self.interrupted else (
            f"stopped: {self.stopped}" if self.stopped else "complete" if self.complete else "not finished")
        text = (f"sweep_replies {self.sweep_id}: {len(self.rows)} cases in {self.elapsed:.1f} s "
                f"(client retry {self.retry or 0:.1f} s): {counts or 'none run'}; {state}")
        if self.remaining:
            text += f"; {len(self.remaining)} not run"
        if self.killer is not None:
            text += (f"\nkiller: {self.killer.name} ({self.killer.cite}): {self.killer.what}; its frames: "
                     f"report.killer.hostile")
        return text

    def __repr__(self) -> str:
        lines = [self.headline(), f"  {'case':28} {'phase':6} {'verdict':9} {'cite':26} why"]
        for r in self.rows:
            mark = " !" if r.unexpected else ""
            lines.append(f"  {r.name:28} {r.phase:6} {r.verdict:9} {r.cite:26} {r.why}{mark}")
        if any(r.unexpected for r in self.rows):
            lines.append("  ! not what a careful client does (see each case's expect)")
        return "\n".join(lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><td>{html.escape(r.name)}</td><td>{r.phase}</td>"
            f"<td style='color:{COLOURS.get(r.verdict, '#000')}'><b>{r.verdict}</b></td>"
            f"<td>{html.escape(r.cite)}</td><td>{html.escape(r.what)}</td><td>{html.escape(r.why)}</td></tr>"
            for r in self.rows)
        head = html.escape(self.headline()).replace("\n", "<br>")
        return (f"<p>{head}</p><table><tr><th>case</th><th>phase</th><th>verdict</th><th>cite</th>"
                f"<th>anomaly</th><th>why</th></tr>{cells}</table>")

    def to_json(self, path: str | None = None) -> str:
        """The report as JSON text; written to ``path`` too when given."""
        text = json.dumps({"sweep_id": self.sweep_id, "elapsed_s": self.elapsed, "retry_s": self.retry,
                           "interrupted": self.interrupted, "stopped": self.stopped,
                           "killer": self.killer.name if self.killer else None, "counts": self.counts(),
                           "rows": [r.to_dict() for r in self.rows],
                           "not_run": [c.name for c in self.remaining]}, indent=1)
        if path is not None:
            Path(path).write_text(text)
        return text

    def to_pcap(self, path: str) -> str:
        """Every frame of every case as pcapng, each with a comment: the case,
        its verdict and why that frame is there (tshark shows it as frame.comment)."""
        from scapy.utils import PcapNgWriter

        with PcapNgWriter(path) as writer:
            for r in self.rows:
                for direction, raw, t in r.frames:
                    pkt = parse_frame(raw).packet
                    pkt.time = t
                    role = {"hostile": "the case's reply", "out": "our valid reply", "in": "the device"}[direction]
                    pkt.comment = f"{r.name} ({r.cite}): {r.verdict}; {role}".encode()
                    writer.write(pkt)
        return path

    def plot(self, path: str | None = None) -> Any:
        """One bar per case, its length the seconds it took, coloured by verdict
        (needs matplotlib: the ``plot`` extra). Saves to ``path`` if given."""
        try:
            import matplotlib

            if path is not None:
                matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt
            from matplotlib.patches import Patch
        except ImportError:
            raise UsageError("plot() needs matplotlib: pip install 'scapy-dhcp[plot]'") from None
        rows = self.rows
        fig, ax = plt.subplots(figsize=(8, max(3.0, 0.18 * len(rows) + 1)))
        ax.barh(range(len(rows)), [r.seconds for r in rows], color=[COLOURS.get(r.verdict, "#000") for r in rows])
        ax.set_yticks(range(len(rows)), [r.name + (" !" if r.unexpected else "") for r in rows], fontsize=7)
        ax.invert_yaxis()
        if self.retry:
            ax.axvline(self.retry, color="#495057", linestyle=":", linewidth=1)
            ax.annotate("client retry", (self.retry, 0.0), xycoords=("data", "axes fraction"), xytext=(3, 3),
                        textcoords="offset points", fontsize=7, color="#495057")
        if self.killer is not None:
            k = rows.index(self.killer)
            ax.annotate("killer", (self.killer.seconds, k), xytext=(5, 0), textcoords="offset points",
                        color=COLOURS["dead"], fontsize=8, va="center")
        ax.set_xlabel("seconds per case")
        ax.set_title(f"sweep_replies {self.sweep_id}")
        seen = [v for v in COLOURS if any(r.verdict == v for r in rows)]
        ax.legend(handles=[Patch(color=COLOURS[v], label=v) for v in seen], loc="lower right", fontsize=7)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path)
            plt.close(fig)
        return fig
