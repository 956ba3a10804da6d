"""What ``sweep_replies()`` found: a row per case with its verdict and the
frames that show it, as a table in a terminal, HTML in Jupyter, JSON, a pcapng
whose frames carry the case and verdict as comments, and a plot."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from .report import COLOURS, Report, finish, frame_dicts, legend, pyplot

ROLES = {"hostile": "the case's reply", "out": "our valid reply", "in": "the device"}


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
    def key(self) -> str:
        return self.name

    @property
    def unexpected(self) -> bool:
        taken = "rejected" if self.verdict == "ignored" else self.verdict   # ignoring a reply is rejecting it
        return bool(self.expect) and taken in ("accepted", "rejected") and taken != self.expect

    def cells(self) -> list[str]:
        return [self.phase, self.verdict, self.cite, self.why + (" !" if self.unexpected else "")]

    def evidence(self) -> list[tuple[str, bytes, float]]:
        return self.frames

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "cite": self.cite, "phase": self.phase, "what": self.what, "expect": self.expect,
                "verdict": self.verdict, "why": self.why, "note": self.note, "seconds": round(self.seconds, 3),
                "frames": frame_dicts(self.frames)}


@dataclass(repr=False)
class ReplyReport(Report):
    """Every case run (``rows``), those not run yet (``remaining``), and
    ``killer``: the first case after which the device was dead. The writers
    and the rest are :class:`~.report.Report`'s; ``failed`` is the dead ones."""

    sweep_id: str
    rows: list[ReplyRow] = field(default_factory=list)
    remaining: list[Any] = field(default_factory=list)
    killer: ReplyRow | None = None
    interrupted: bool = False
    stopped: str = ""
    elapsed: float = 0.0
    retry: float | None = None

    KIND = "sweep_replies"
    KEY_HEADER = "case"
    COLUMNS = ("phase", "verdict", "cite", "why")
    FAILED = ("dead",)
    ERRORS = ("inconclusive",)
    SKIPPED = ("skipped", "not run")

    @property
    def complete(self) -> bool:
        return not self.remaining and not self.interrupted

    def headline(self) -> str:
        counts = ", ".join(f"{n} {v}" for v, n in sorted(self.counts().items()))
        state = f"interrupted ({self.KIND}(resume=True))" if self.interrupted else (
            f"stopped: {self.stopped}" if self.stopped else "complete" if self.complete else "not finished")
        text = (f"{self.KIND} {self.sweep_id}: {len(self.rows)} cases in {self.elapsed:.1f} s "
                f"(client retry {self.retry or 0:.1f} s): {counts or 'none run'}; {state}")
        if self.remaining:
            text += f"; {len(self.remaining)} not run"
        if self.killer is not None:
            text += (f"\nkiller: {self.killer.name} ({self.killer.cite}): {self.killer.what}; its frames: "
                     f"report.killer.hostile")
        return text

    def footnotes(self) -> list[str]:
        return ["  ! not what a careful client does (see each case's expect)"] if any(
            r.unexpected for r in self.rows) else []

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data.update(sweep_id=self.sweep_id, retry_s=self.retry, stopped=self.stopped,
                    killer=self.killer.name if self.killer else None, not_run=[c.name for c in self.remaining])
        return data

    def junit_properties(self, row: Any) -> list[tuple[str, Any]]:
        return [("cite", row.cite), ("phase", row.phase), ("verdict", row.verdict), ("expect", row.expect)]

    def comment(self, row: Any, direction: str) -> str:
        """The case, its verdict and the frame's role; the case's own frame says why, in the row's words."""
        why = f" ({row.why})" if direction == "hostile" and row.why else ""
        return f"{row.name} ({row.cite}): {row.verdict}; {ROLES[direction]}{why}"

    def plot(self, path: str | None = None) -> Any:
        """One bar per case, its length the seconds it took, coloured by verdict,
        the client's retry interval and the killer marked (needs matplotlib: the
        ``plot`` extra). Saves to ``path`` and returns it; else returns the figure."""
        plt = pyplot(path)
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
        ax.set_title(f"{self.KIND} {self.sweep_id}")
        legend(ax, rows)
        return finish(fig, path)


def resumed(session: Any, key: str, cases: list[Any], kind: type[ReplyReport] = ReplyReport) -> ReplyReport:
    """The unfinished sweep (``key``: its name in the session's notes): this session's last
    report, or the one its notes kept (a session that was closed or killed), its verdicts
    so far restored; ``cases`` is the whole catalog."""
    last = session.last
    if isinstance(last, kind) and last.KIND == kind.KIND and not last.complete:
        last.stopped = ""
        return last
    kept = session.endpoint.notes.get(key)
    if not isinstance(kept, dict) or kept.get("complete") or not kept.get("cases"):
        raise UsageError(f"no unfinished {key}() to resume")
    by_name = {c.name: c for c in cases}
    verdicts = kept.get("verdicts") or {}
    report = kind(sweep_id=str(kept.get("id")), retry=kept.get("retry"))
    for name in kept["cases"]:
        case = by_name.get(name)
        if case is None:
            continue
        if name in verdicts:
            verdict, why = verdicts[name]
            report.rows.append(ReplyRow(case.name, case.cite, case.phase, case.what, case.expect, verdict=verdict,
                                        why=why, note="from before the session restarted: no frames kept"))
            if verdict == "dead" and report.killer is None:
                report.killer = report.rows[-1]
        else:
            report.remaining.append(case)
    return report
