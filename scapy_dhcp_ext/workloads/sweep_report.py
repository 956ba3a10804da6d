"""What a sweep found: a row per case, and the report over them, as a table in
a terminal, HTML in Jupyter, JSON, a pcap and a plot. Made by :mod:`.sweep`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Union

from ..wire.frames4 import Frame, parse_any
from .cases4 import Case
from .report import Report, finish, pyplot

Probe = Union[str, Callable[[Any], bool], None]


@dataclass
class Row:
    """One case and what came of it."""

    name: str
    description: str
    frames: list[bytes]
    length: int | None
    kind: str
    sent_at: float = 0.0
    replies: list[Frame] = field(default_factory=list)
    latency: float | None = None       # seconds to the first reply
    alive: bool | None = None          # did the probe after it get an answer
    note: str = ""

    @property
    def answered(self) -> bool:
        return bool(self.replies)

    @property
    def reply_types(self) -> list[str]:
        return [r.type_name for r in self.replies]

    @property
    def outcome(self) -> str:
        if not self.replies:
            return "no reply"
        return ", ".join(sorted(set(self.reply_types)))

    @property
    def packets(self) -> list[Any]:
        """The frames of this case as Scapy packets, ready to resend."""
        return [parse_any(f).packet for f in self.frames]

    @property
    def key(self) -> str:
        return self.name

    @property
    def verdict(self) -> str:
        """``answered``, ``no reply``, or ``dead`` (the probe after it found the device silent)."""
        if self.alive is False:
            return "dead"
        return "answered" if self.answered else "no reply"

    @property
    def why(self) -> str:
        return self.outcome + (f"; {self.note}" if self.note else "")

    @property
    def seconds(self) -> float:
        return self.latency or 0.0

    def cells(self) -> list[str]:
        return [self.kind, self.verdict, self.outcome, "-" if self.latency is None else f"{self.latency * 1000:.2f} ms"]

    def evidence(self) -> list[tuple[str, bytes, float]]:
        """What was sent and what came back, timed from when the case went out."""
        first = self.replies[0].time if self.replies else 0.0
        return [("out", raw, self.sent_at) for raw in self.frames] + [
            ("in", r.raw, self.sent_at + (r.time - first) + (self.latency or 0)) for r in self.replies]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "kind": self.kind, "length": self.length,
                "bytes_sent": sum(len(f) for f in self.frames), "frames": [f.hex() for f in self.frames],
                "replies": [{"type": r.type_name, "summary": r.summary(), "hex": r.raw.hex()} for r in self.replies],
                "latency_ms": None if self.latency is None else round(self.latency * 1000, 3),
                "alive_after": self.alive, "note": self.note}


@dataclass(repr=False)
class SweepReport(Report):
    """What a sweep found. ``rows`` in the order sent; ``killer`` is the case
    after which the device stopped answering (None if it never did). The
    writers and the rest are :class:`~.report.Report`'s; the table groups runs
    of rows with the same outcome; ``failed`` is the row after which it died."""

    kind: str
    sweep_id: str
    rows: list[Row] = field(default_factory=list)
    remaining: list[Case] = field(default_factory=list)
    interrupted: bool = False
    killer: Row | None = None
    elapsed: float = 0.0
    runner: Any = None

    KEY_HEADER = "cases"
    COLUMNS = ("n", "outcome", "median latency")
    FAILED = ("dead",)

    @property
    def KIND(self) -> str:  # type: ignore[override]  # noqa: N802  (the class attribute, per kind)
        return f"{self.kind} sweep"

    @property
    def answered_lengths(self) -> list[int]:
        """The BOOTP payload lengths that got a reply (length and fragmented cases)."""
        return [r.length for r in self.rows if r.answered and r.kind in ("length", "fragmented")
                and r.length is not None]

    @property
    def answered_cases(self) -> list[str]:
        """The names of the other cases that got a reply (header cuts, lies, malformed)."""
        return [r.name for r in self.rows if r.answered and r.kind not in ("length", "fragmented")]

    @property
    def first_answered(self) -> int | None:
        """The shortest BOOTP payload length that got a reply."""
        return min(self.answered_lengths, default=None)

    @property
    def complete(self) -> bool:
        return not self.remaining and not self.interrupted

    def resume(self, *, probe: Probe | str = "keep", timeout: float | None = None, on_dead: str | None = None,
               wait_dead: float | None = None, progress: bool | None = None) -> SweepReport:
        """Runs the cases not yet sent, adding their rows here. Takes what the
        sweep took; what is not given stays as it was."""
        if self.runner is None or not self.remaining:
            return self
        self.runner.configure(probe=probe, timeout=timeout, on_dead=on_dead, wait_dead=wait_dead, progress=progress)
        return self.runner.run(self)

    def groups(self) -> list[tuple[Row, Row, int, str]]:
        """Runs of consecutive rows with the same outcome: (first, last, count, outcome)."""
        out: list[tuple[Row, Row, int, str]] = []
        for row in self.rows:
            outcome = row.outcome + ("" if row.alive is not False else ", device dead after")
            if out and out[-1][3] == outcome and row.kind == out[-1][0].kind and row.kind != "malformed":
                first, _last, n, _ = out[-1]
                out[-1] = (first, row, n + 1, outcome)
            else:
                out.append((row, row, 1, outcome))
        return out

    def headline(self) -> str:
        state = "interrupted" if self.interrupted else ("stopped: device dead" if self.killer else "complete")
        text = (f"{self.kind} sweep {self.sweep_id}: {len(self.rows)} cases in {self.elapsed:.2f} s, "
                f"{sum(r.answered for r in self.rows)} answered, {state}")
        if self.remaining:
            text += f"; {len(self.remaining)} not sent (report.resume())"
        if self.killer is not None:
            text += f"\nthe device stopped answering after {self.killer.name}: {self.killer.description}" \
                    f" (bytes: report.killer.frames; resend: dhcp.send_packet(report.killer.frames[0]))"
        return text

    def display_rows(self) -> list[tuple[Any, list[str]]]:
        """One line per run of rows with the same outcome: its first row (whose frames
        the HTML shows), the range of names, how many, the outcome and the median latency."""
        lines = []
        for first, last, n, outcome in self.groups():
            label = first.name if n == 1 else f"{first.name} .. {last.name}"
            lat = [r.latency for r in self.rows[self.rows.index(first):self.rows.index(last) + 1]
                   if r.latency is not None]
            latency = f"{sorted(lat)[len(lat) // 2] * 1000:.2f} ms" if lat else "-"
            lines.append((first, [label, str(n), outcome, latency]))
        return lines

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data.update(kind=self.kind, sweep_id=self.sweep_id, killer=self.killer.name if self.killer else None,
                    answered_lengths=self.answered_lengths, answered_cases=self.answered_cases,
                    not_sent=[c.name for c in self.remaining])
        return data

    def plot(self, path: str | None = None) -> Any:
        """Latency against length, one dot per case coloured by what came of it
        (answered, no reply, the device dead after it), the first answered
        length and the MTU's edge labelled, the fragmented cases on an axis of
        their own (needs matplotlib: the ``plot`` extra). Saves to ``path`` and
        returns it; without one, returns the figure."""
        plt = pyplot(path)
        whole = [r for r in self.rows if r.length is not None and r.kind == "length"]
        frags = [r for r in self.rows if r.length is not None and r.kind == "fragmented"]
        fig, axes = plt.subplots(1, 2 if frags else 1, sharey=True, figsize=(9, 3.6), squeeze=False,
                                 gridspec_kw={"width_ratios": [6, 1] if frags else [1]})
        main = axes[0][0]
        top = max([r.latency for r in self.rows if r.latency is not None] or [1e-3]) * 1000 * 1.15

        def dots(ax: Any, rows: list[Row], xs: list[float]) -> None:
            for what, colour, marker in (("answered", "#2b8a3e", "."), ("no reply", "#adb5bd", "|"),
                                         ("dead", "#e03131", "x")):
                pick = [(x, r) for x, r in zip(xs, rows) if r.verdict == what]
                if not pick:
                    continue
                ys = [r.latency * 1000 if r.latency is not None else 0.0 for _x, r in pick]
                ax.scatter([x for x, _r in pick], ys, s=8 if what != "dead" else 40, c=colour, marker=marker,
                           label=what if ax is main else None)

        dots(main, whole, [r.length or 0 for r in whole])
        main.set_xlabel("BOOTP payload length (bytes)")
        main.set_ylabel("latency (ms); 0: no reply")
        main.set_ylim(-top * 0.05, top)
        first = self.first_answered
        if first is not None and whole:
            main.axvline(first, color="#2b8a3e", linestyle=":", linewidth=1)
            main.annotate(f"first answered: {first}", (first, top * 0.92), xytext=(4, 0),
                          textcoords="offset points", fontsize=8, color="#2b8a3e")
        edge = max((r.length or 0 for r in whole), default=0)
        if frags and whole:
            main.axvline(edge, color="#495057", linestyle="--", linewidth=1)
            main.annotate(f"MTU edge: {edge}", (edge, top * 0.80), xytext=(-4, 0), textcoords="offset points",
                          fontsize=8, ha="right", color="#495057")
        if main.get_legend_handles_labels()[0]:
            main.legend(loc="upper left", fontsize=7, markerscale=1.5)
        main.set_title(f"{self.kind} sweep {self.sweep_id}: {len(self.rows)} cases", fontsize=10)
        if frags:
            side = axes[0][1]
            dots(side, frags, list(range(len(frags))))
            side.set_xticks(range(len(frags)), [str(r.length) for r in frags], rotation=60, fontsize=7)
            side.set_xlim(-0.7, len(frags) - 0.3)
            side.set_xlabel("IP fragments")
            side.set_facecolor("#f8f9fa")
        return finish(fig, path)
