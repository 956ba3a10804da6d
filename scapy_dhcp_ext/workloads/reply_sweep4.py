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
  uses the address (announces it, answers ARP) or, quiet, renews it later;
- ``rejected``: it dropped or refused the reply and carried on (asked again,
  DECLINEd), or stayed alive and quiet;
- ``ignored``: a message it let pass with no effect (a FORCERENEW it did not act on);
- ``inconclusive``: the evidence cannot tell (quiet on a lease too long to wait out);
- ``dead``: it did nothing at all for its retry interval (as it backs off) plus
  ``margin``, or after an ACK case past T2 of the lease it was given, and the
  probe fails.

Everything the device does counts as a sign of life (:mod:`.liveness`): DHCP,
ARP probes and announcements (RFC 5227), ARP replies, ICMP. Each ``why`` ends
with what it did meanwhile, in words ("ARP probes for 10.77.0.23 at +0.4,
+1.9, +3.3 s; ..."). The device is ``device_mac``, or the first MAC that sends
DHCP twice (never ours); whatever state it is in when the sweep starts (bound,
renewing, midway through its DISCOVERs), its REQUESTs get a NAK until it
DISCOVERs, and ``restart`` (or ``renew``) brings a quiet one back.

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
from ..wire import mac_bytes, mac_str
from .catalog import choose
from .reply_cases4 import select
from .reply_evidence4 import Evidence
from .reply_machine4 import FORCERENEW_WITHIN, Probe
from .reply_report import ReplyReport, resumed

if TYPE_CHECKING:
    from ..roles.server4 import DhcpServer
    from .host import Host



class ReplySweeper(Evidence):
    """One sweep: the machine (:class:`~.reply_machine4.ReplyMachine`) moved by the
    device's requests, and the caller's thread that waits, times the silences
    (:class:`~.reply_evidence4.Evidence`), and calls the probe and ``restart``."""

    def _step(self) -> None:
        with self.cond:
            self.cond.wait(0.05)
            mode, since, now = self.mode, self.since, time.monotonic()
            quiet, case = self.quiet, self.case
            last = max(since, self.life.last(since) or since)   # silence counts from its last sign of life
        if mode == "measure":
            self._measure(now, since, last)
            return
        if mode == "wait":
            # Quiet (bound, or waiting on a reply it will not get), or silent past its retry: restart()
            # brings it back, three times in a row at most; without one it comes back on its own or not.
            if self.restart is not None and self.restarts < 3 and (quiet or now - last > self.window()):
                self._restart()
            elif self.restart is None and self.renew is not None and not self.renewed and \
                    (quiet or now - last > self.window()):
                self.renewed = True   # bound and quiet: renew() makes it ask now, and the NAK sends it back
                self.renew()
            elif now - max(since, self.nak_at) > self.comeback:
                self._stop(f"the device did not come back within {self.comeback:.0f} s for the next case "
                           f"({self.life.summary()})")
            return
        if mode == "bound" and case is not None:
            if case.phase == "bound" and self._settled(now - since):
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
        if mode in ("offer-pending", "offered", "ack-pending", "bound-pending"):
            valid = "OFFER" if mode == "offered" else "reply"
            if now - last > self.window():
                self._again(f"it did not go on after our valid {valid}")
            elif now - since > max(self.comeback, self.window()):
                # it talks, but not in the case's exchange: a device that started over (a reboot of its own,
                # a new xid) would otherwise hold the case for ever, its DISCOVERs coming inside the window
                self._again(f"it did not go on after our valid {valid} within {now - since:.0f} s, though it "
                            "kept sending (a new exchange: restarted?)")
            return
        if mode in ("sent", "quiet") and case is not None and case.phase in ("ack", "offer"):
            self._uses_address(case.phase)
        if mode == "quiet":   # its requests may not reach the server's hooks (a bogus ciaddr): its signs do
            dhcp = [x for x in self.life.after(since) if x.dhcp]
            if dhcp:
                with self.cond:
                    if self.mode == "quiet" and self.since == since:
                        self._quiet_ends(dhcp[0].kind)
                return
        if mode == "quiet" and self.renew is not None and not self.renewed and now - since > self.margin:
            self.renewed = True   # bound and quiet, perhaps: renew() makes a bound client say so now
            self.renew()
        if mode == "quiet" and now - since > self.quiet_for:
            self._still_quiet(now - (self.sent_at or since))
            return
        # After a NAK a client may pause before it starts over (udhcpc: 3 s): the renew case waits longer.
        limit = self.comeback if case is not None and case.phase == "renew" else self.window()
        if case is not None and case.phase == "bound":   # a bound client retransmits nothing: it acts at once
            limit = FORCERENEW_WITHIN + self.margin
        address = self._address() if case is not None and case.phase == "ack" else None
        if address is not None and self.life.probes(address, self.sent_at or since):
            limit = max(limit, self.probing_window())   # RFC 5227: it checks the address before it uses it
        if case is not None and case.phase == "offer":
            limit = max(limit, self.dead_window())   # it dropped the OFFER, perhaps, at its last try: it pauses
        if mode == "sent" and now - last > limit:
            self._silent("silent", limit)

    def _measure(self, now: float, since: float, last: float) -> None:
        """Before the first case: the device is chosen and its retry interval measured.
        A quiet one (bound) is restarted, or asked to renew (its REQUEST gets a NAK)."""
        limit = max(self.comeback, 70.0)
        if not self.discovers and now - since > 2.0 and now - max(last, self.heard) > 2.0:
            if self.restart is not None and not self.restarts:
                self._restart("measure")   # a bound client asks for nothing: bring it back
                return
            if self.renew is not None and not self.renewed and self.target is not None:
                self.renewed = True
                self.renew()
                return
        if now - since > limit:
            if self.target is None:
                once = ", ".join(mac_str(m) for m in self.chooser.candidates()) or "none"
                self._stop(f"no client sent DHCP twice within {limit:.0f} s (seen once: {once}): "
                           "is a DHCP client on the link?")
            else:
                naks = f"; NAKed {self.naks} REQUEST(s), no DISCOVER followed" if self.naks else ""
                self._stop(f"no DISCOVER came twice within {limit:.0f} s from the device, "
                           f"{self.life.summary()}{naks}")

    def _still_quiet(self, waited: float) -> None:
        """Quiet past T2 of the lease the case gave it: the probe decides."""
        alive = self._alive()
        with self.cond:
            if self.case is None or self.mode != "quiet":
                return
            if alive:
                bound = self.case.phase == "bound"
                self._verdict("ignored" if bound else "accepted",
                              f"quiet for {waited:.1f} s and the probe finds it alive: it "
                              + ("ignored the FORCERENEW" if bound else "took the lease"))
            else:
                self._verdict("dead", f"silent for {waited:.1f} s after the case, past T2 of its lease, "
                              "and the probe failed")
            self.quiet = True
        if not alive and self.restart is None:
            self._stop("the device died; restart= would bring it back for the rest")

    def _silent(self, what: str, limit: float) -> None:
        """Silence past the window: the probe decides between alive and dead; a
        device given a lease (an ACK case, a FORCERENEW) may be bound and quiet
        until T2, and is waited for that long first."""
        alive = self._alive()
        wait = self.lease_wait() if not alive else None
        with self.cond:
            case = self.case
            if case is None or self.mode != "sent":
                return   # a request came meanwhile and decided
            origin = self.sent_at or self.since
            if alive and case.phase == "bound":
                self._verdict("ignored", "it ignored the FORCERENEW: still bound, and alive")
            elif alive and case.phase == "ack":
                self._verdict("accepted", "it stopped asking and is alive: it took the lease")
            elif alive:
                self._verdict("rejected", f"{what}, and is alive")
            elif case.phase in ("ack", "bound") and wait is not None:
                self.quiet_for = max(0.0, wait - (time.monotonic() - origin))
                self._set("quiet")   # bound and quiet, perhaps: it renews by T2 or it is dead
                return
            elif case.phase in ("ack", "bound"):
                self._verdict("inconclusive", f"{what} and the probe failed, but it may be bound on the case's "
                              "lease, too long to wait out")
            else:
                self._verdict("dead", f"{what} for {limit:.1f} s and the probe failed")
            self.quiet = True
            killed = self.report.killer is not None and self.report.rows[-1] is self.report.killer
        if killed and self.restart is None:
            self._stop("the device died; restart= would bring it back for the rest")

    def _restarted(self) -> None:
        """The new process: its DISCOVER schedule starts afresh (the lock held)."""
        self.schedule.forget()

    def _forcerenew(self) -> None:
        with self.cond:
            if self.row is None or self.target is None:
                return
            self._set("sent")
            self.sent_at = self.since
        lease = next((x for x in self.server.leases if x.mac == mac_str(self.target) and x.state == "bound"), None)
        if lease is None:
            with self.cond:
                self._verdict("rejected", "no bound lease to FORCERENEW")
            return
        self.server.forcerenew(lease.mac)
        with self.cond:
            if self.row is not None:
                self.row.frames.extend(("hostile", h.raw, h.time) for h in self.server.log[-1:])

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
    report = resumed(session, "sweep_replies", select(None)) if resume else \
        ReplyReport(sweep_id=secrets.token_hex(4), remaining=chosen)
    if resume and retry is None:
        retry = report.retry
    running = session.server if session.server is not None and session.server.running else None
    own = running is None
    made: list[ReplySweeper] = []

    def hook(server: DhcpServer) -> None:   # before the server reads a request: none is answered unseen
        made.append(ReplySweeper(session, server, report, mac=mac_bytes(mac) if mac else None, probe=probe,
                                 restart=restart, renew=renew, retry=retry, margin=margin,
                                 comeback=comeback if comeback is not None else lease_time + 10.0,
                                 progress=progress))
        server.attach(made[0].observe, made[0].on_reply, made[0].tap)

    if running is None:
        server = session.serve(lease_time=lease_time, macs=[mac] if mac else None, before_start=hook, **serve_kw)
    else:
        server = running
        hook(server)
    sweeper = made[0]
    try:
        sweeper.run()
    finally:
        server.detach()
        if own:
            server.stop()
        session.last = report
    return report
