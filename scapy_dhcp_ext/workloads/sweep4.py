"""Sweeps: send every case, check the device is alive after each, report.

Usage::

    >>> report = sweep_lengths()                  # every BOOTP length, a DISCOVER probe after each
    >>> report.answered_lengths[:3], report.first_answered
    >>> report.to_pcap("sweep.pcap"); report.plot("sweep.png")
    >>> sweep_malformed()                          # the catalog of malformed fields

The speed comes from order: a device handles packets in turn, so once the
probe sent after a case is answered, any answer to the case itself has
already arrived. No case waits a full timeout unless the device is silent.
A reply that still comes late is given to its case by xid.

Ctrl-C stops cleanly: the partial report says so, and ``report.resume()`` (or
``sweep_lengths(resume=True)`` after a restart: the journal knows what was
sent) carries on where it stopped.
"""

from __future__ import annotations

import random
import secrets
import time
from typing import Any, Callable, Iterable

from ..errors import UsageError, old_keyword
from ..roles.results4 import progress_bar
from ..state.signals import stop_on_ctrl_c
from ..wire import (
    BROADCAST_MAC,
    DISCOVER,
    mac_bytes,
    new_xid,
)
from ..wire.frames4 import Frame, parse_frame
from ..wire.messages4 import build_message
from ..wire.probes4 import probe_frame
from .cases4 import Case
from .catalog import choose
from .host import SweepHost
from .sweep_report import Probe, Row, SweepReport


class Sweeper:
    """Runs cases over an endpoint's socket, a liveness probe after each.

    Every case ends with a *barrier*: a DISCOVER whose OFFER proves the DHCP
    server has handled the case (it answers in order), so the case's own
    answer, if any, has arrived. With ``probe="discover"`` the probe is the
    barrier. With ``"arp"``, ``"icmp"`` or a callable, the barrier comes first
    and the probe after it: the device's kernel answers ARP and ICMP at once,
    before its DHCP server has read the case, so the probe alone proves only
    that the device is alive. A barrier that gets no OFFER costs ``timeout``
    and the row says so."""

    PROBES: tuple[str, ...] = ("discover", "arp", "icmp")
    BARRIER = "discover"   # the probe that is the barrier itself (a v6 sweep's: "solicit")

    def __init__(self, host: SweepHost, *, probe: Probe = "discover", probe_timeout: float = 1.0,
                 probe_retries: int = 2, on_dead: str = "stop", wait_dead: float = 30.0,
                 progress: bool = True, journal_tag: str = "SWEEP", params: dict[str, Any] | None = None) -> None:
        if on_dead not in ("stop", "wait"):
            raise UsageError("on_dead is 'stop' or 'wait'")
        if not (probe is None or callable(probe) or probe in self.PROBES):
            raise UsageError(f"unknown probe {probe!r}: {', '.join(self.PROBES)}, None or a callable")
        self.host = host
        self.endpoint = host.endpoint
        self.probe = probe
        self.probe_timeout = probe_timeout
        self.probe_retries = probe_retries
        self.on_dead = on_dead
        self.wait_dead = wait_dead
        self.progress = progress
        self.journal_tag = journal_tag
        self.params = params or {}
        self.rng = random.Random()
        self._probe_target: str | None = None

    def configure(self, *, probe: Probe | str = "keep", timeout: float | None = None, on_dead: str | None = None,
                  wait_dead: float | None = None, progress: bool | None = None) -> None:
        """Changes how the remaining cases run (``report.resume(progress=False)``)."""
        if probe != "keep":
            self.probe = probe
        for name, value in (("probe_timeout", timeout), ("on_dead", on_dead), ("wait_dead", wait_dead),
                            ("progress", progress)):
            if value is not None:
                setattr(self, name, value)

    @property
    def transport(self) -> Any:
        """The socket the cases go out on (a v6 sweep's is the endpoint's v6 one)."""
        return self.endpoint.transport

    def _xid_of(self, raw: bytes) -> Any:
        return parse_frame(raw).xid

    # -- probes --------------------------------------------------------------

    def _discover(self) -> tuple[bytes, Callable[[Frame], bool]]:
        xid = new_xid(self.rng)
        mac_b = self.endpoint.mac_bytes
        frame = build_message(DISCOVER, mac=mac_b, xid=xid)
        return frame, lambda f: f.xid == xid and f.chaddr == mac_b and f.op == 2

    def _probe_frame(self) -> tuple[bytes, Callable[[Frame], bool]]:
        if self.probe == self.BARRIER:
            return self._discover()
        mac_b, own = self.endpoint.mac_bytes, self._own_address()
        if self.probe != "arp":
            self.endpoint.transport.answer_arp(own, mac_b)   # the device asks who we are before it answers
        lease = self.host.lease
        dst = mac_bytes(lease.server_mac) if lease and lease.server_mac else BROADCAST_MAC
        return probe_frame("arp" if self.probe == "arp" else "icmp", src_mac=mac_b, src_ip=own,
                           target=self._target(), dst_mac=dst, ident=self.rng.getrandbits(16))

    def _target(self) -> str:
        if self._probe_target is None:
            lease, offers = self.host.lease, self.host.offers
            target = lease.server_id if lease else (offers[0].server_id if offers else None)
            if target is None:
                raise UsageError("an arp or icmp probe needs the device's address: run discover() or dora() first")
            self._probe_target = target
        return self._probe_target

    def _own_address(self) -> str:
        lease = self.host.lease
        if lease is None:
            raise UsageError("an arp or icmp probe needs an address of ours: run dora() first")
        return str(lease.address)

    # -- running -------------------------------------------------------------

    def start(self, kind: str, cases: list[Case]) -> SweepReport:
        if self.probe not in (self.BARRIER, None) and not callable(self.probe):
            self._target(), self._own_address()  # a usage error now, not after the first case
        report = SweepReport(kind=kind, sweep_id=secrets.token_hex(4), remaining=list(cases), runner=self)
        return self.run(report)

    def run(self, report: SweepReport) -> SweepReport:
        report.interrupted = False
        start = time.monotonic()
        transport = self.transport
        transport.drain()
        by_xid = {self._xid_of(row.frames[0]): row for row in report.rows}
        bar = self._bar(len(report.rows) + len(report.remaining), len(report.rows))

        def stopped() -> None:
            report.interrupted = True

        try:
            with stop_on_ctrl_c(stopped):
                while report.remaining:
                    case = report.remaining[0]
                    row = Row(case.name, case.description, case.frames, case.length, case.kind)
                    row.sent_at = time.time()
                    t0 = transport.clock()
                    for raw in case.frames:
                        self.transport.send(raw)
                        self.endpoint.record("out", raw, f"{self.journal_tag} {report.sweep_id} {case.name}")
                    by_xid[case.xid] = row
                    report.rows.append(row)
                    report.remaining.pop(0)
                    row.alive = self._check(row, case, t0, by_xid, report)
                    if bar is not None:
                        bar.update(1)
                    if row.alive is False:
                        report.killer = report.killer or row
                        if self.on_dead == "stop" or not self._wait_for_device(row):
                            break
        finally:
            if bar is not None:
                bar.close()
            report.elapsed += time.monotonic() - start
            self.endpoint.notes["sweep"] = {"id": report.sweep_id, "kind": report.kind, "params": self.params,
                                            "sent": len(report.rows), "complete": report.complete}
            self.host.last = report
            self.endpoint.save()
        return report

    def _read_until(self, answers: Callable[[Frame], bool], wait: float, row: Row, case: Case, t0: float,
                    by_xid: dict[Any, Row], sweep_id: str) -> Frame | None:
        """Reads frames for ``wait`` seconds, giving replies to their cases, until one ``answers``."""
        transport = self.transport
        deadline = transport.clock() + wait
        while (frame := transport.receive(max(0.0, deadline - transport.clock()))) is not None:
            if answers(frame):
                self.endpoint.journal("in", frame.raw, f"{self.journal_tag} {sweep_id} probe")
                return frame
            self._take(frame, case, row, t0, by_xid, sweep_id)
        return None

    def _check(self, row: Row, case: Case, t0: float, by_xid: dict[Any, Row], report: SweepReport) -> bool | None:
        """The barrier, then the probe; True, False, or None (no probe)."""
        tag = f"{self.journal_tag} {report.sweep_id} probe"
        if self.probe is None:
            self._read_until(lambda f: False, 0.05, row, case, t0, by_xid, report.sweep_id)
            return None
        if self.probe != self.BARRIER:
            barrier, offered = self._discover()
            self.endpoint.journal("out", barrier, tag)
            self.transport.send(barrier)
            if self._read_until(offered, self.probe_timeout, row, case, t0, by_xid, report.sweep_id) is None:
                row.note = f"no OFFER to the barrier DISCOVER within {self.probe_timeout:g} s"
            if callable(self.probe):
                return bool(self.probe(self.host))
        for _attempt in range(1 + self.probe_retries):
            probe, answers = self._probe_frame()
            self.transport.send(probe)
            self.endpoint.journal("out", probe, tag)
            if self._read_until(answers, self.probe_timeout, row, case, t0, by_xid, report.sweep_id) is not None:
                return True
        return False

    def _is_reply(self, frame: Any) -> bool:
        return bool(frame.is_dhcp and frame.op == 2)

    def _is_ours(self, frame: Any) -> bool:
        return bool(frame.chaddr == self.endpoint.mac_bytes)

    def _take(self, frame: Any, case: Case, row: Row, t0: float, by_xid: dict[Any, Row], sweep_id: str) -> None:
        """Gives a reply to its case (this one, or an earlier one that answers late)."""
        if not self._is_reply(frame):
            return
        owner = row if frame.xid == case.xid else by_xid.get(frame.xid)
        self.endpoint.record("in" if owner is not None else "ignored", frame.raw,
                             f"{self.journal_tag} {sweep_id} {owner.name if owner else ''}".strip())
        if owner is None or not self._is_ours(frame):
            return
        if owner is row and row.latency is None:
            row.latency = frame.time - t0
        elif owner is not row:
            owner.note = "late reply"
        owner.replies.append(frame)

    def _wait_for_device(self, row: Row) -> bool:
        """on_dead="wait": probes until the device answers again or wait_dead runs out."""
        transport = self.transport
        deadline = time.monotonic() + self.wait_dead
        while time.monotonic() < deadline:
            probe, answers = self._discover() if self.probe in (self.BARRIER, None) or callable(self.probe) \
                else self._probe_frame()
            transport.send(probe)
            end = transport.clock() + 1.0
            while (frame := transport.receive(max(0.0, end - transport.clock()))):
                if answers(frame):
                    row.note = f"device back after {self.wait_dead - (deadline - time.monotonic()):.1f} s"
                    return True
        row.note = f"device still silent after {self.wait_dead:.0f} s"
        return False

    def _bar(self, total: int, done: int) -> Any:
        return progress_bar(self.progress, total, "sweep", done=done)


def default_lengths(mtu: int) -> list[int]:
    """0 up to the largest BOOTP payload the MTU carries, then some past it (IP fragments)."""
    top = mtu - 28
    return list(range(0, top + 1)) + [top + 1, top + 100, 2000, 3000, 4000, 8000]


def done_cases(records: Iterable[dict[str, Any]], tag: str, sweep_id: str) -> set[str]:
    """The case names a journal shows as sent in that sweep."""
    prefix = f"{tag} {sweep_id} "
    return {str(r.get("op", ""))[len(prefix):] for r in records
            if str(r.get("op", "")).startswith(prefix) and r.get("dir") == "out"}



def _runner(host: SweepHost, probe: Probe, timeout: float, on_dead: str, wait_dead: float, progress: bool,
            params: dict[str, Any]) -> Sweeper:
    return Sweeper(host, probe=probe, probe_timeout=timeout, on_dead=on_dead, wait_dead=wait_dead,
                   progress=progress, params=params)


def _resumed(host: SweepHost, kind: str, cases: list[Case], runner: Sweeper) -> SweepReport:
    last = host.endpoint.notes.get("sweep") or {}
    if last.get("kind") != kind or last.get("complete"):
        raise UsageError(f"no unfinished {kind} sweep to resume")
    done = done_cases(host.endpoint.history.records(last["id"]), runner.journal_tag, last["id"])
    report = SweepReport(kind=kind, sweep_id=last["id"], remaining=[c for c in cases if c.name not in done],
                         runner=runner)
    return runner.run(report)


def sweep_lengths(host: SweepHost, lengths: Iterable[int] | None = None, base: Any = None, *,
                  probe: Probe = "discover", timeout: float = 1.0, headers: bool | None = None,
                  lies: bool | None = None, on_dead: str = "stop", wait_dead: float = 30.0, progress: bool = True,
                  resume: bool = False) -> SweepReport:
    """Sends the base packet (default: a DISCOVER of the session's) at every
    BOOTP payload length: cut short, or grown with PAD after END; by default
    0 to what the MTU carries, then past it as IP fragments. ``headers`` adds
    frames cut inside the IP and UDP headers (14..41 bytes), ``lies`` IP and
    UDP length fields larger and smaller than the packet; both come by
    default only when ``lengths`` is not given (an explicit range sends
    exactly that range). After each case a ``probe`` (``"discover"``,
    ``"arp"``, ``"icmp"``, a callable, or None) checks the device still
    answers; ``timeout`` is the probe's wait.

    >>> r = sweep_lengths(range(0, 600))
    >>> r.first_answered
    """
    from ..wire.pktools import to_packet
    from .cases4 import header_cut_cases, length_cases, lie_cases

    endpoint = host.endpoint
    if resume:
        params = (endpoint.notes.get("sweep") or {}).get("params", {})
        lengths, headers, lies = params.get("lengths"), params.get("headers"), params.get("lies")
    if headers is None:
        headers = lengths is None
    if lies is None:
        lies = lengths is None
    mtu = endpoint.transport.link_mtu() if endpoint.iface else 1500
    lengths = list(lengths) if lengths is not None else default_lengths(mtu)
    mac = endpoint.mac
    base_frame = bytes(to_packet(base)) if base is not None else build_message(
        DISCOVER, mac=mac, xid=0, opts=host.options)
    runner = _runner(host, probe, timeout, on_dead, wait_dead, progress,
                     {"lengths": lengths, "headers": headers, "lies": lies})
    rng = runner.rng
    cases = (header_cut_cases(base_frame, mac, new_xid=lambda: new_xid(rng)) if headers else [])
    cases += length_cases(base_frame, mac, lengths, mtu=mtu, new_xid=lambda: new_xid(rng))
    cases += lie_cases(base_frame, mac, new_xid=lambda: new_xid(rng)) if lies else []
    if resume:
        return _resumed(host, "length", cases, runner)
    return runner.start("length", cases)


def sweep_malformed(host: SweepHost, only: Iterable[str] | None = None, *, skip: Iterable[str] | None = None,
                    probe: Probe = "discover", timeout: float = 1.0, on_dead: str = "stop", wait_dead: float = 30.0,
                    progress: bool = True, resume: bool = False, names: Iterable[str] | None = None) -> SweepReport:
    """Sends each malformed-field case (one anomaly on an otherwise valid
    DISCOVER; ``only`` some, less ``skip``) with a liveness probe after each.

    >>> sweep_malformed(["no-end", "overload-nested"])
    """
    from .cases4 import malformed_cases, malformed_specs

    only = old_keyword("sweep_malformed", "names", "only", names, only)
    if only is not None or skip:
        names = [s.name for s in choose(malformed_specs(), only, skip, key=lambda s: s.name, what="case")]
    runner = _runner(host, probe, timeout, on_dead, wait_dead, progress, {"names": names})
    cases = malformed_cases(host.endpoint.mac, new_xid=lambda: new_xid(runner.rng), names=names)
    if resume:
        return _resumed(host, "malformed", cases, runner)
    return runner.start("malformed", cases)
