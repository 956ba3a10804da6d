"""RFC conformance checks with evidence: the frame of a check, its verdicts and
its report. The checks themselves are in :mod:`.server_checks4` (a DHCP server
on the link, through the client role) and :mod:`.client_checks4` (a DHCP client
on the link, through ``serve()``).

A check is one small function named by its id and tagged with its RFC clause
and level, written as a protocol script, as ISC Forge writes them: set up,
send, then the pass criteria. It returns :func:`met`, :func:`broken`,
:func:`not_applicable` or :func:`unsure`, each with one sentence; the level
turns ``broken`` into ``fail`` (MUST) or ``warn`` (SHOULD). The frames it
sent and saw are its evidence.

Usage::

    >>> report = dhcp.check_server()
    >>> report.failed, report.to_junit("dhcp.xml"), report.to_pcap("dhcp.pcapng")
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from ..roles.results4 import progress_bar
from ..wire.frames4 import parse_frame
from .catalog import choose
from .report import Report, frame_dicts

MUST, SHOULD, MAY = "MUST", "SHOULD", "MAY"
VERDICTS = ("pass", "fail", "warn", "n/a", "inconclusive", "not run")


@dataclass(frozen=True)
class Outcome:
    """What a check found: ``met`` (True, False or None for n/a and
    inconclusive) and one sentence."""

    kind: str      # "met", "broken", "n/a", "inconclusive"
    why: str


class NoEvidence(Exception):
    """Raised inside a check when what it needs to judge never came: the
    verdict is ``inconclusive`` with this message."""


def met(why: str) -> Outcome:
    return Outcome("met", why)


def broken(why: str) -> Outcome:
    return Outcome("broken", why)


def not_applicable(why: str) -> Outcome:
    return Outcome("n/a", why)


def unsure(why: str) -> Outcome:
    return Outcome("inconclusive", why)


@dataclass(frozen=True)
class Check:
    """One rule: ``id`` (stable), ``rfc`` ("2131 4.3.1"), ``level`` (MUST,
    SHOULD or MAY), ``rule`` in words, and the function that checks it."""

    id: str
    rfc: str
    level: str
    rule: str
    run: Callable[[Any], Outcome]
    destructive: bool = False


def catalog(checks: list[Check]) -> Callable[..., Callable[[Callable[[Any], Outcome]], Callable[[Any], Outcome]]]:
    """A decorator that adds a check function to ``checks``:
    ``@check("xid-echoed", "2131 4.3.1", MUST, "the reply's xid is the request's")``."""
    def check(check_id: str, rfc: str, level: str, rule: str, *, destructive: bool = False) -> Callable[..., Any]:
        def add(fn: Callable[[Any], Outcome]) -> Callable[[Any], Outcome]:
            if any(c.id == check_id for c in checks):
                raise ValueError(f"two checks named {check_id}")
            checks.append(Check(check_id, rfc, level, rule, fn, destructive))
            return fn
        return add
    return check


def verdict_of(outcome: Outcome, level: str) -> str:
    if outcome.kind == "met":
        return "pass"
    if outcome.kind == "broken":
        return "fail" if level == MUST else "warn"
    return outcome.kind


@dataclass
class CheckResult:
    """One check's verdict and its evidence: ``frames`` are (direction, bytes,
    time), ``out`` ours and ``in`` the device's (or the link's)."""

    id: str
    rfc: str
    level: str
    rule: str
    verdict: str = "not run"
    why: str = ""
    seconds: float = 0.0
    frames: list[tuple[str, bytes, float]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.id

    @property
    def packets(self) -> list[Any]:
        """The evidence as Scapy packets."""
        return [parse_frame(raw).packet for _d, raw, _t in self.frames]

    def cells(self) -> list[str]:
        return [self.level, self.verdict, f"RFC {self.rfc}", self.why]

    def evidence(self) -> list[tuple[str, bytes, float]]:
        return self.frames

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "rfc": self.rfc, "level": self.level, "rule": self.rule, "verdict": self.verdict,
                "why": self.why, "seconds": round(self.seconds, 3), "frames": frame_dicts(self.frames)}

    def __repr__(self) -> str:
        return f"<{self.id} ({self.rfc}, {self.level}): {self.verdict}: {self.why}>"


@dataclass(repr=False)
class CheckReport(Report):
    """Every check's result (``rows``), in the order run. ``role`` is "server" or
    "client"; ``target`` names the device (a server's address, a client's MAC).
    The writers and the rest are :class:`~.report.Report`'s."""

    role: str
    target: str = "?"
    rows: list[CheckResult] = field(default_factory=list)
    elapsed: float = 0.0
    interrupted: bool = False

    KEY_HEADER = "check"
    COLUMNS = ("level", "verdict", "rfc", "why")

    @property
    def KIND(self) -> str:  # type: ignore[override]  # noqa: N802  (the class attribute, per role)
        return f"check_{self.role}"

    @property
    def results(self) -> list[CheckResult]:
        """The rows, by their name before every report had ``rows``."""
        warnings.warn("report.rows is report.rows now", DeprecationWarning, stacklevel=2)
        return self.rows

    @property
    def passed(self) -> list[CheckResult]:
        return [r for r in self.rows if r.verdict == "pass"]

    def headline(self) -> str:
        """One line: ``server 10.77.0.1: 28 pass, 2 warn, 1 fail, 1 n/a in 6.2 s``."""
        counts = self.counts()
        parts = ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts.get(v))
        tail = " (interrupted: the rest not run)" if self.interrupted else ""
        return f"{self.role} {self.target}: {parts or 'nothing run'} in {self.elapsed:.1f} s{tail}"

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data.update(role=self.role, target=self.target, summary=self.summary(), checks=data.pop("rows"))
        return data

    def junit_properties(self, row: Any) -> list[tuple[str, Any]]:
        return [("rfc", row.rfc), ("level", row.level), ("verdict", row.verdict)]

    def comment(self, row: Any, direction: str) -> str:
        who = "ours" if direction == "out" else "the device's"
        return f"{row.id} (RFC {row.rfc}, {row.level}): {row.verdict}; {who}"

    def to_pcap(self, path: str, rows: Iterable[str] | None = None, checks: Iterable[str] | None = None) -> str:
        """The evidence of every check (or of the ones named) as pcapng, each frame
        commented with its check's id, RFC clause and verdict (tshark: frame.comment)."""
        return super().to_pcap(path, rows if rows is not None else checks)


def select(checks: Sequence[Check], only: Iterable[str] | str | None,
           skip: Iterable[str] | str | None) -> list[Check]:
    """The checks named by ``only`` (all by default) less those in ``skip``
    (:func:`.catalog.choose`, as for every catalog)."""
    return choose(checks, only, skip, key=lambda c: c.id, what="check")


class Recorder:
    """What the current check sent and saw, for its evidence."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, bytes, float]] = []

    def add(self, direction: str, raw: bytes, t: float) -> None:
        self.frames.append((direction, raw, t))

    def cite(self, frames: Iterable[tuple[str, bytes, float]]) -> None:
        """Adds frames another check's exchange saw (a shared DORA, say), once."""
        have = {(d, raw, t) for d, raw, t in self.frames}
        self.frames.extend(f for f in frames if f not in have)


def run_checks(report: CheckReport, checks: Sequence[Check], context: Any, *, destructive: bool = True,
               progress: bool = True) -> CheckReport:
    """Runs each check on ``context`` (whose ``recorder`` collects its frames);
    a destructive check without ``destructive`` is n/a and says so. Ctrl-C
    ends the run: the report has what was done and the rest as not run."""
    start = time.monotonic()
    bar = progress_bar(progress, len(checks), f"check_{report.role}", unit="check")
    try:
        for k, check in enumerate(checks):
            result = CheckResult(check.id, check.rfc, check.level, check.rule)
            report.rows.append(result)
            if check.destructive and not destructive:
                result.verdict = "n/a"
                result.why = "changes the server's state: run with destructive=True"
                continue
            context.recorder = Recorder()
            t0 = time.monotonic()
            try:
                outcome = check.run(context)
            except KeyboardInterrupt:
                report.interrupted = True
                report.rows.pop()
                report.rows += [CheckResult(c.id, c.rfc, c.level, c.rule) for c in checks[k:]]
                break
            except NoEvidence as exc:
                outcome = unsure(str(exc))
            except Exception as exc:   # a device that stops answering mid-check, say
                outcome = unsure(f"{type(exc).__name__}: {exc}")
            result.seconds = time.monotonic() - t0
            result.verdict, result.why = verdict_of(outcome, check.level), outcome.why
            result.frames = list(context.recorder.frames)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        report.elapsed = time.monotonic() - start
    return report
