"""``sweep_replies()``: hostile replies to a device's DHCP client, one case at a
time, each with a verdict on what the client did.

Usage (at the ``scapy-dhcp --lab-client udhcpc`` prompt)::

    >>> client = lab.clients[0]
    >>> r = sweep_replies(probe=client.alive, restart=client.restart, renew=client.renew)
    >>> r.killer                        # the first case that killed it, with its frames
    >>> r.to_pcap("replies.pcapng")     # each frame commented with its case and verdict

It runs our server (``serve()``) and drives it from its hooks: the case's
reply replaces the right OFFER or ACK for the device's next transaction, and
every request the device sends afterwards is the evidence. Verdicts:

- ``accepted``: it went on: a REQUEST after an OFFER case; for an ACK case, it
  stopped asking and the probe finds it alive (it uses the lease);
- ``rejected``: it ignored the reply and kept asking (or stayed alive and quiet);
- ``dead``: it stopped asking within its retry interval plus ``margin``, and
  the probe fails.

Between cases the device must come back to DISCOVER: the first DISCOVER
after a case starts the next one, every other REQUEST gets a NAK (so a bound
client that renews starts over: short leases make that soon), and when it is
quiet, ``restart()`` (a process restart, a link toggle, a power cycle) brings
it back. ``renew()`` makes it renew now, for the ``renew`` case. The
``probe``: ``"traffic"`` (its own DHCP traffic; after an ACK, an ARP for the
address it was given), ``"arp"``, ``"icmp"``, or a callable that returns
whether it lives (a serial console, ssh, a process check).
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any, Callable

from ..errors import UsageError, old_keyword
from ..roles.results4 import progress_bar
from ..state.signals import stop_on_ctrl_c
from ..wire import (
    ARP_REQUEST,
    ZERO_IP,
    arp_frame,
    icmp_echo_frame,
    ip_bytes,
    is_arp_reply_from,
    is_icmp_echo_reply,
    mac_bytes,
    mac_str,
)
from ..wire.frames4 import parse_frame
from .catalog import choose
from .reply_cases4 import select
from .reply_machine4 import Probe, ReplyMachine
from .reply_report import ReplyReport, ReplyRow

if TYPE_CHECKING:
    from .host import Host



class ReplySweeper(ReplyMachine):
    """One sweep: the machine (:class:`~.reply_machine4.ReplyMachine`) moved by the
    device's requests, and the caller's thread that waits, times the silences,
    and calls the probe and ``restart``."""

    def window(self) -> float:
        """How long silence may last before the probe decides: its retry interval plus the margin."""
        return (self.retry or 1.0) + self.margin

    def run(self) -> ReplyReport:
        report = self.report
        report.interrupted = False
        bar = progress_bar(self.progress, len(report.rows) + len(report.remaining), "sweep_replies",
                           done=len(report.rows))
        start = time.monotonic()

        def stopped() -> None:
            report.interrupted = True

        try:
            with stop_on_ctrl_c(stopped):
                while report.remaining and not report.stopped:
                    done = len(report.rows)
                    self._step()
                    if len(report.rows) > done:
                        self.note()   # each verdict kept as it lands: a killed session resumes after it
                        if bar is not None:
                            bar.update(len(report.rows) - done)
        finally:
            if bar is not None:
                bar.close()
            with self.cond:
                if self.row is not None and report.interrupted:
                    self.row.note = "cut short by Ctrl-C"
                self._set("idle")
            report.elapsed += time.monotonic() - start
            report.retry = self.retry
            self.note()
        return report

    def note(self) -> None:
        """The sweep in the session's notes (saved with its state): the cases
        asked for and each verdict so far, for ``resume=True`` after a restart."""
        r = self.report
        endpoint = self.session.endpoint
        endpoint.notes["sweep_replies"] = {
            "id": r.sweep_id, "cases": [x.name for x in r.rows] + [c.name for c in r.remaining],
            "verdicts": {x.name: [x.verdict, x.why] for x in r.rows}, "retry": self.retry,
            "complete": r.complete and not r.stopped}
        endpoint.save()

    def _step(self) -> None:
        with self.cond:
            self.cond.wait(0.05)
            mode, since, now = self.mode, self.since, time.monotonic()
            quiet, case = self.quiet, self.case
        if mode == "measure":
            limit = max(self.comeback, 70.0)
            if not self.discovers and self.restart is not None and not self.restarts and now - since > 2.0:
                self._restart("measure")   # a bound client asks for nothing: bring it back
            elif now - since > limit:
                self._stop(f"no DISCOVER came twice within {limit:.0f} s: is a DHCP client on the link?")
            return
        if mode == "wait":
            # Quiet (bound, or waiting on a reply it will not get), or silent past its retry: restart()
            # brings it back, three times in a row at most; without one it comes back on its own or not.
            if self.restart is not None and self.restarts < 3 and (quiet or now - since > self.window()):
                self._restart()
            elif now - since > self.comeback:
                self._stop(f"the device did not come back within {self.comeback:.0f} s for the next case")
            return
        if mode == "bound" and case is not None:
            if case.phase == "bound" and now - since > 0.2:
                self._forcerenew()
            elif case.phase == "renew" and self.renew is not None and not self.renewed:
                if self._settled(now - since):
                    self.renewed = True
                    self.renew()
            elif now - since > self.comeback:
                self._again("no renewal came" if self.renew is not None or self.server.lease_time < self.comeback
                            else f"no renewal came (the server's leases are {self.server.lease_time} s: pass "
                                 "renew=, or stop your server and let the sweep serve short ones)")
            return
        if mode in ("offer-pending", "offered", "ack-pending", "bound-pending") and now - since > self.window():
            self._again(f"it did not go on after our valid {'OFFER' if mode == 'offered' else 'reply'}")
            return
        if mode == "sent" and case is not None and case.phase in ("ack", "offer"):
            self._uses_address(case.phase)
        # After a NAK a client may pause before it starts over (udhcpc: 3 s): the renew case waits longer.
        limit = self.comeback if case is not None and case.phase == "renew" else self.window()
        if mode == "sent" and now - since > limit:
            self._silent("silent")

    def _settled(self, waited: float) -> bool:
        """Whether the device has taken our ACK, so that renew() finds it bound:
        udhcpc reads a signal before the packet that came with it, and a renew
        asked for while it is still REQUESTING sends it back to DISCOVER. It
        answers ARP for the address once its script has configured it; a device
        that never answers ARP is renewed after 2 s anyway."""
        address = self._address()
        return waited > 2.0 or (address is not None and self._ping(address, "arp", wait=0.1))

    def _uses_address(self, phase: str) -> None:
        """A device that answers ARP for the address took the lease, which
        settles the case at once (no need to wait out the silence). After an
        OFFER that is a client taking it as a BOOTP reply (dhcpcd does, with
        no option 53)."""
        address = self._address()
        if address is not None and self._ping(address, "arp", wait=0.1):
            with self.cond:
                if self.mode == "sent" and self.case is not None and self.case.phase == phase:
                    how = "the lease" if phase == "ack" else "the offer as a lease (BOOTP), with no REQUEST"
                    self._verdict("accepted", f"it answers ARP for {address}: it took {how}")
                    self.quiet = True

    def _again(self, why: str) -> None:
        """The case did not get to its hostile reply: once more from a fresh start, then skipped."""
        with self.cond:
            case = self.case
            if case is None or self.mode in ("wait", "idle"):
                return
            self.attempts[case.name] = self.attempts.get(case.name, 0) + 1
            if self.attempts[case.name] >= 2:
                self._verdict("skipped", why + ", twice")
            else:
                self.row, self.case = None, None
                self._set("wait")
            self.quiet = True

    def _silent(self, what: str) -> None:
        """Silence past the window: the probe decides between alive and dead."""
        alive = self._alive()
        with self.cond:
            case = self.case
            if case is None or self.mode in ("wait", "idle"):
                return   # a request came meanwhile and decided
            if not alive:
                self._verdict("dead", f"{what} for {self.window():.1f} s and the probe failed")
            elif self.mode == "sent" and case.phase == "ack":
                self._verdict("accepted", "it stopped asking and is alive: it took the lease")
            else:
                self._verdict("rejected", f"{what}, and is alive")
            self.quiet = True
            killed = not alive
        if killed and self.restart is None:
            self._stop("the device died; restart= would bring it back for the rest")

    def _alive(self) -> bool:
        probe = self.probe
        if callable(probe):
            try:
                return bool(probe())
            except Exception as exc:
                with self.cond:
                    if self.row is not None:
                        self.row.note = f"the probe raised {type(exc).__name__}: {exc}"
                return False
        address = self._address()
        if probe == "traffic" and (self.mode != "sent" or self.case is None or self.case.phase != "ack"):
            return False
        if address is None:
            return False
        return self._ping(address, "icmp" if probe == "icmp" else "arp")

    def _address(self) -> str | None:
        """The address the device was given in this case (the last yiaddr we sent it)."""
        row = self.row
        for direction, raw, _t in reversed(row.frames if row else []):
            if direction != "in":
                y = parse_frame(raw).yiaddr
                if y not in (ZERO_IP, "255.255.255.255") and not y.startswith(("127.", "224.")):
                    return y
        return None

    def _ping(self, address: str, how: str, wait: float = 1.0) -> bool:
        ep, server_ip = self.session.endpoint, self.server.pool.server_ip
        target = mac_bytes(mac_str(self.target)) if self.target else b"\xff" * 6
        ident = secrets.randbits(16)
        if how == "arp":
            frame = arp_frame(ARP_REQUEST, sha=ep.mac_bytes, spa=ip_bytes(server_ip), tha=bytes(6),
                              tpa=ip_bytes(address))
        else:
            frame = icmp_echo_frame(src_mac=ep.mac_bytes, dst_mac=target, src=server_ip, dst=address, ident=ident)
        address_b = ip_bytes(address)
        return ep.transport.probe(frame, lambda f: is_arp_reply_from(f.raw, address_b) if how == "arp"
                                  else is_icmp_echo_reply(f.raw, ident), wait=min(wait, self.window())) is not None

    def _restart(self, mode: str = "wait") -> None:
        assert self.restart is not None
        with self.cond:
            self.quiet = False
            self.restarts += 1
            self._set(mode)
        try:
            self.restart()
        except Exception as exc:
            self._stop(f"restart() raised {type(exc).__name__}: {exc}")

    def _forcerenew(self) -> None:
        with self.cond:
            if self.row is None or self.target is None:
                return
            self._set("sent")
        lease = next((x for x in self.server.leases if x.mac == mac_str(self.target) and x.state == "bound"), None)
        if lease is None:
            with self.cond:
                self._verdict("rejected", "no bound lease to FORCERENEW")
            return
        self.server.forcerenew(lease.mac)
        with self.cond:
            if self.row is not None:
                self.row.frames.extend(("hostile", h.raw, h.time) for h in self.server.log[-1:])

    def _stop(self, why: str) -> None:
        with self.cond:
            self.report.stopped = why
            self._set("idle")


def sweep_replies(session: Host, only: list[str] | str | None = None, *, skip: list[str] | str | None = None,
                  device_mac: str | None = None, probe: Probe = "traffic", restart: Callable[[], Any] | None = None,
                  renew: Callable[[], Any] | None = None, retry: float | None = None, margin: float = 0.5,
                  lease_time: int = 20, comeback: float | None = None, progress: bool = True,
                  resume: bool = False, cases: list[str] | str | None = None, mac: str | None = None,
                  **serve_kw: Any) -> ReplyReport:
    """Runs the catalog of hostile replies (``only`` some, less ``skip``) against the
    DHCP client ``device_mac`` (default: the first that sends a DISCOVER); see the
    module's docstring. ``retry`` is the client's retry interval (measured
    from its first two DISCOVERs when not given). Ctrl-C returns the partial
    report; ``resume=True`` runs the cases it did not get to.

    >>> r = sweep_replies(restart=lab.clients[0].restart)
    >>> r.killer, r.verdicts()
    """
    only = old_keyword("sweep_replies", "cases", "only", cases, only)
    device_mac = old_keyword("sweep_replies", "mac", "device_mac", mac, device_mac)
    mac = device_mac
    if not (probe in ("traffic", "arp", "icmp") or callable(probe)):
        raise UsageError(f"unknown probe {probe!r}: 'traffic', 'arp', 'icmp' or a callable")
    try:
        chosen = select(only)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if skip:
        chosen = choose(chosen, None, skip, key=lambda c: c.name, what="case")
    report = _resumed(session) if resume else ReplyReport(sweep_id=secrets.token_hex(4), remaining=chosen)
    if resume and retry is None:
        retry = report.retry
    running = session.server if session.server is not None and session.server.running else None
    own = running is None
    server = running if running is not None else session.serve(lease_time=lease_time, macs=[mac] if mac else None,
                                                                **serve_kw)
    sweeper = ReplySweeper(session, server, report, mac=mac_bytes(mac) if mac else None, probe=probe,
                           restart=restart, renew=renew, retry=retry, margin=margin,
                           comeback=comeback if comeback is not None else lease_time + 10.0, progress=progress)
    server.attach(sweeper.observe, sweeper.on_reply)
    try:
        sweeper.run()
    finally:
        server.detach()
        if own:
            server.stop()
        session.last = report
    return report


def _resumed(session: Host) -> ReplyReport:
    """The unfinished sweep: this session's last report, or the one its notes
    kept (a session that was closed or killed), its verdicts so far restored."""
    last = session.last
    if isinstance(last, ReplyReport) and not last.complete:
        last.stopped = ""
        return last
    kept = session.endpoint.notes.get("sweep_replies")
    if not isinstance(kept, dict) or kept.get("complete") or not kept.get("cases"):
        raise UsageError("no unfinished sweep_replies() to resume")
    by_name = {c.name: c for c in select(None)}
    verdicts = kept.get("verdicts") or {}
    report = ReplyReport(sweep_id=str(kept.get("id")), retry=kept.get("retry"))
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
