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

import collections
import html
import json
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from ..errors import UsageError
from ..roles.results4 import progress_bar
from ..wire.frames4 import parse_frame

MUST, SHOULD, MAY = "MUST", "SHOULD", "MAY"
VERDICTS = ("pass", "fail", "warn", "n/a", "inconclusive", "not run")
COLOURS = {"pass": "#2b8a3e", "fail": "#e03131", "warn": "#f08c00", "n/a": "#868e96",
           "inconclusive": "#7048e8", "not run": "#ced4da"}


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
    def packets(self) -> list[Any]:
        """The evidence as Scapy packets."""
        return [parse_frame(raw).packet for _d, raw, _t in self.frames]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "rfc": self.rfc, "level": self.level, "rule": self.rule, "verdict": self.verdict,
                "why": self.why, "seconds": round(self.seconds, 3),
                "frames": [{"dir": d, "t": t, "summary": parse_frame(raw).summary(), "hex": raw.hex()}
                           for d, raw, t in self.frames]}

    def __repr__(self) -> str:
        return f"<{self.id} ({self.rfc}, {self.level}): {self.verdict}: {self.why}>"


@dataclass
class CheckReport:
    """Every check's result, in the order run. ``role`` is "server" or
    "client"; ``target`` names the device (a server's address, a client's MAC)."""

    role: str
    target: str = "?"
    results: list[CheckResult] = field(default_factory=list)
    elapsed: float = 0.0
    interrupted: bool = False

    def __getitem__(self, check_id: str) -> CheckResult:
        for r in self.results:
            if r.id == check_id:
                return r
        raise KeyError(f"no check {check_id!r} in this report")

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.verdict == "fail"]

    @property
    def passed(self) -> list[CheckResult]:
        return [r for r in self.results if r.verdict == "pass"]

    def verdicts(self) -> dict[str, str]:
        return {r.id: r.verdict for r in self.results}

    def counts(self) -> dict[str, int]:
        return dict(collections.Counter(r.verdict for r in self.results))

    def summary(self) -> str:
        """One line: ``server 10.77.0.1: 28 pass, 2 warn, 1 fail, 1 n/a in 6.2 s``."""
        counts = self.counts()
        parts = ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts.get(v))
        tail = " (interrupted: the rest not run)" if self.interrupted else ""
        return f"{self.role} {self.target}: {parts or 'nothing run'} in {self.elapsed:.1f} s{tail}"

    def __repr__(self) -> str:
        lines = [self.summary(), f"  {'check':44} {'level':6} {'verdict':12} {'rfc':14} why"]
        lines += [f"  {r.id:44} {r.level:6} {r.verdict:12} {r.rfc:14} {r.why}" for r in self.results]
        return "\n".join(lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><td>{html.escape(r.id)}</td><td>{r.level}</td>"
            f"<td style='color:{COLOURS.get(r.verdict, '#000')}'><b>{html.escape(r.verdict)}</b></td>"
            f"<td>RFC {html.escape(r.rfc)}</td><td>{html.escape(r.why)}</td><td>{len(r.frames)}</td></tr>"
            for r in self.results)
        return (f"<p>{html.escape(self.summary())}</p><table><tr><th>check</th><th>level</th><th>verdict</th>"
                f"<th>rfc</th><th>why</th><th>frames</th></tr>{cells}</table>")

    def to_json(self, path: str | None = None) -> str:
        """The report as JSON text (each check with its frames in hex); written to ``path`` too when given."""
        text = json.dumps({"role": self.role, "target": self.target, "elapsed_s": round(self.elapsed, 3),
                           "interrupted": self.interrupted, "summary": self.summary(), "counts": self.counts(),
                           "checks": [r.to_dict() for r in self.results]}, indent=1)
        if path is not None:
            Path(path).write_text(text)
        return text

    def to_junit(self, path: str) -> str:
        """JUnit XML, one ``<testcase>`` per check named by its id, with
        ``rfc``, ``level`` and ``verdict`` properties: ``fail`` is a failure,
        ``inconclusive`` an error, ``n/a`` (and not run) a skip."""
        counts = self.counts()
        suite = ET.Element("testsuite", name=f"scapy-dhcp check_{self.role}", tests=str(len(self.results)),
                           failures=str(counts.get("fail", 0)), errors=str(counts.get("inconclusive", 0)),
                           skipped=str(counts.get("n/a", 0) + counts.get("not run", 0)),
                           time=f"{self.elapsed:.3f}")
        for r in self.results:
            case = ET.SubElement(suite, "testcase", classname=f"scapy_dhcp.check_{self.role}", name=r.id,
                                 time=f"{r.seconds:.3f}")
            props = ET.SubElement(case, "properties")
            for name, value in (("rfc", r.rfc), ("level", r.level), ("verdict", r.verdict)):
                ET.SubElement(props, "property", name=name, value=value)
            frames = "\n".join(f"{d} {parse_frame(raw).summary()}" for d, raw, _t in r.frames)
            if r.verdict == "fail":
                ET.SubElement(case, "failure", message=r.why, type=r.level).text = frames
            elif r.verdict == "inconclusive":
                ET.SubElement(case, "error", message=r.why).text = frames
            elif r.verdict in ("n/a", "not run"):
                ET.SubElement(case, "skipped", message=r.why or r.verdict)
            else:
                ET.SubElement(case, "system-out").text = f"{r.verdict}: {r.why}\n{frames}"
        ET.indent(suite)
        Path(path).write_text(ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n")
        return path

    def to_pcap(self, path: str, checks: Iterable[str] | None = None) -> str:
        """The evidence of every check (or of ``checks``) as pcapng, each frame
        commented with its check's id, RFC clause and verdict (tshark: frame.comment)."""
        from scapy.utils import PcapNgWriter

        wanted = set(checks) if checks is not None else None
        with PcapNgWriter(path) as writer:
            for r in self.results:
                if wanted is not None and r.id not in wanted:
                    continue
                for direction, raw, t in r.frames:
                    pkt = parse_frame(raw).packet
                    pkt.time = t
                    who = "ours" if direction == "out" else "the device's"
                    pkt.comment = f"{r.id} (RFC {r.rfc}, {r.level}): {r.verdict}; {who}".encode()
                    writer.write(pkt)
        return path


def select(checks: Sequence[Check], only: Iterable[str] | str | None,
           skip: Iterable[str] | str | None) -> list[Check]:
    """The checks named by ``only`` (all by default) less those in ``skip``;
    an unknown id is a usage error that lists the known ones."""
    def names(value: Iterable[str] | str | None) -> list[str]:
        return [value] if isinstance(value, str) else list(value or [])

    known = {c.id for c in checks}
    for name in names(only) + names(skip):
        if name not in known:
            raise UsageError(f"no check named {name!r}; known: {', '.join(sorted(known))}")
    wanted = set(names(only)) if only is not None else known
    return [c for c in checks if c.id in wanted and c.id not in set(names(skip))]


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
            report.results.append(result)
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
                report.results.pop()
                report.results += [CheckResult(c.id, c.rfc, c.level, c.rule) for c in checks[k:]]
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
