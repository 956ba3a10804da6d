"""How the reply sweep tells alive from dead: the probe, the address a case
concerns, and how long a quiet device is waited for (see :mod:`.liveness`).

A device is alive while it does anything (DHCP, ARP probes and announcements,
ARP replies, ICMP). Silence is timed from its last sign of life, and the
window is its retry interval as it backs off: twice the longer of its
measured interval and the gap before the case's DISCOVER (the next step of a
doubling schedule; with RFC 2131 4.1's +/- 1 s on both from 4 s on), 64 s at
most, plus the margin. A device whose DISCOVERs come at a fixed interval may
stop after a few tries and pause (BusyBox udhcpc as shipped: 3 tries 3 s apart,
then 20 s): after a case's OFFER it is called dead only past the longest pause
it has shown, and until it has shown one, past RFC 2131's cap of 64 s (unless
``retry=`` gave its schedule). While it probes the
address it was given (RFC 5227), the window covers its probe phase. A device
that goes quiet after taking an ACK may be bound, to a bogus address too: it
is waited for until T2 of the lease it was given, and is ``dead`` only when
it stays silent past that and the probe fails (clients stretch short leases:
the wait covers a lease of 30 s at least); ``renew()``, when given, asks it
to renew at once instead.
"""

from __future__ import annotations

import time

from ..wire import ZERO_IP, mac_str
from ..wire.frames4 import parse_frame
from ..wire.probes4 import probe_frame
from .liveness import ANNOUNCE_WAIT, PROBE_MAX
from .reply_machine4 import ReplyMachine

CAP = 64.0          # RFC 2131 4.1: retransmissions back off to 64 s at most
JITTER = 1.0        # RFC 2131 4.1: each delay randomised by -1 to +1 s
LONGEST_QUIET = 120.0   # past this T2 a quiet device is not waited for: the verdict is inconclusive
SHORTEST_LEASE = 30.0   # clients stretch shorter leases (BusyBox udhcpc renews 15 s after binding an 8 s one)


def backoff_window(step: float) -> float:
    """The longest wait for the retransmission after an interval of ``step`` s of a
    doubling schedule: twice it, with RFC 2131 4.1's +/- 1 s on both (from 4 s on; a
    shorter fixed interval is the client's own, unrandomised), 64 s (and 1) at most."""
    jitter = JITTER if step >= 4.0 - JITTER else 0.0
    return min(CAP + jitter, 2 * (step + jitter) + jitter)


class Evidence(ReplyMachine):
    """The caller's side of the machine: the probe and the waits (the lock not held)."""

    pinged = 0.0      # when our ARP last asked for the address
    quiet_for = 0.0   # in mode "quiet": how long it is waited for

    def window(self) -> float:
        """How long silence may last before the probe decides: its next retry
        interval (twice its last, as it backs off) plus the margin. On RFC 2131
        4.1's schedule (steps of 4 s and more) each interval is its nominal one
        +/- 1 s: the last seen may be 1 s short and the next 1 s long, so twice
        a 15.8 s gap may be followed by 33 s of silence (dhcpcd did, and was
        called dead)."""
        return backoff_window(max(self.retry or 1.0, self.gap_before or 0.0)) + self.margin

    def dead_window(self) -> float:
        """How long silence after a case must last before the probe may call the device dead:
        the window, or, for a device whose DISCOVERs come at a fixed interval, the longest pause
        it made between tries (it may have dropped the case's reply at its last try), and until
        it has shown one, RFC 2131's cap. Not when the user gave ``retry=``: their word."""
        window = self.window()
        if self.schedule.doubling or self.given_retry:
            return window
        pause = self.schedule.pause   # a gap its interval explains (a new xid each try) is no pause
        shown = pause is not None and pause + JITTER + self.margin > window
        return max(window, (pause if shown and pause is not None else CAP) + JITTER + self.margin)

    def probing_window(self) -> float:
        """After an ARP probe for the address: the rest of the RFC 5227 probe phase, and the margin."""
        return PROBE_MAX + ANNOUNCE_WAIT + self.margin

    def lease_wait(self) -> float | None:
        """How long after the case a quiet device is waited for: T2 of the lease it
        was given (the case's reply, else our server's), and a window; None when
        that is too long to wait (an infinite lease)."""
        server_t2 = self.server.lease_time * 0.875
        t2 = server_t2
        for direction, raw, _t in reversed(self.row.frames if self.row else []):
            if direction == "hostile" and self.case is not None and self.case.phase == "ack":
                frame = parse_frame(raw)
                lease = frame.lease_time
                if frame.t2 is not None and lease and frame.t2 < lease:
                    t2 = float(frame.t2)
                elif lease:
                    t2 = lease * 0.875
                break
        if t2 > max(LONGEST_QUIET, server_t2):
            return None
        return max(t2, server_t2, SHORTEST_LEASE * 0.875) + self.window()

    def _uses_address(self, phase: str) -> None:
        """A device that uses the address (it announced it, answers ARP for it) took
        the lease, which settles the case at once. After an OFFER that is a client
        taking it as a BOOTP reply (dhcpcd does, with no option 53). Our ARP asks at
        most four times a second, and not while the device is still probing."""
        address = self._address()
        if address is None:
            return
        since = self.sent_at or self.since
        held = self.life.holds(address, since) is not None
        now = time.monotonic()
        probing = self.life.probing_until(address, since)
        if not held and now - self.pinged >= 0.25 and (probing is None or now > probing):
            self.pinged = now
            held = self._ping(address, "arp", wait=0.1)
        if not held:
            return
        with self.cond:
            if self.mode in ("sent", "quiet") and self.case is not None and self.case.phase == phase:
                how = "the lease" if phase == "ack" else "the offer as a lease (BOOTP), with no REQUEST"
                self._verdict("accepted", f"it uses {address}: it took {how}")
                self.quiet = True

    def _settled(self, waited: float) -> bool:
        """Whether the device has taken our ACK, so that renew() or a FORCERENEW
        finds it bound: udhcpc reads a signal before the packet that came with
        it, and a renew asked for while it is still REQUESTING sends it back to
        DISCOVER. It uses the address once configured (it announces it, answers
        ARP); while it probes the address (RFC 5227), and until its second
        announcement, it is not bound yet; a device that never answers ARP is
        taken as bound after 2 s anyway."""
        address = self._address()
        if address is None:
            return waited > 2.0
        if not self.life.done_probing(address, self.since):
            return False   # still probing, or just announced (dhcpcd drops what comes before its socket opens)
        if self.life.holds(address, self.since):
            return True
        now = time.monotonic()
        if now - self.pinged >= 0.5:
            self.pinged = now
            if self._ping(address, "arp", wait=0.1):
                return True
        probing = self.life.probing_until(address, self.since)
        return waited > 2.0 and (probing is None or now > probing)

    def _alive(self) -> bool:
        """The probe: the caller's callable, or an ARP (ICMP) for the address the
        device holds (with ``"traffic"``, only when it has one: it was given one
        in this case, or it is bound)."""
        probe = self.probe
        if callable(probe):
            try:
                return bool(probe())
            except Exception as exc:
                with self.cond:
                    if self.row is not None:
                        self.row.note = f"the probe raised {type(exc).__name__}: {exc}"
                return False
        address = self._address() if self.case is None or self.case.phase in ("ack", "offer") else self._held()
        if address is None or (probe == "traffic" and self.case is not None and self.case.phase == "offer"):
            return False
        if self.life.holds(address, self.sent_at or self.since):
            return True
        return self._ping(address, "icmp" if probe == "icmp" else "arp")

    def _held(self) -> str | None:
        """The address the device is bound to (our server's lease), if any."""
        mac = mac_str(self.target) if self.target else None
        lease = next((x for x in self.server.leases if x.mac == mac and x.state == "bound"), None)
        return lease.address if lease is not None else None

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
        ep = self.session.endpoint
        frame, answers = probe_frame(how, src_mac=ep.mac_bytes, src_ip=self.server.pool.server_ip, target=address,
                                     dst_mac=self.target or b"\xff" * 6)
        return ep.transport.probe(frame, answers, wait=min(wait, self.window())) is not None
