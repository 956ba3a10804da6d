"""The reply sweep's state machine: each request the device sends moves the
current case along (its hostile OFFER or ACK sent, the device's answer judged);
:mod:`.reply_sweep4` runs it from the caller's thread. See that module for the
verdicts and how cases follow each other.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from ..wire import ACK, DECLINE, DISCOVER, OFFER, REQUEST, ZERO_IP, mac_str
from ..wire.frames4 import Frame, parse_frame
from .liveness import Chooser, Liveness
from .reply_cases4 import Ctx, ReplyCase
from .reply_report import ReplyReport, ReplyRow
from .reply_run import ReplyRun

if TYPE_CHECKING:
    from ..roles.server4 import DhcpServer
    from .host import Host

Probe = Any   # "traffic", "arp", "icmp" or a callable returning whether the device lives
FORCERENEW_WITHIN = 2.0   # seconds: a client that takes a FORCERENEW renews within this (RFC 3203 5: at once)


class ReplyMachine(ReplyRun):
    """The state of one sweep, moved along by the device's requests: the
    server's hooks (``observe`` and ``on_reply``, on the reader's thread) take a
    request and give the reply to send; the lock-holding helpers below are
    all a case's moves. :class:`~.reply_sweep4.ReplySweeper` adds the caller's
    thread: the waiting, the silences, the probe and ``restart``."""

    def __init__(self, session: Host, server: DhcpServer, report: ReplyReport, *, mac: bytes | None,
                 probe: Probe, restart: Callable[[], Any] | None, renew: Callable[[], Any] | None,
                 retry: float | None, margin: float, comeback: float, progress: bool) -> None:
        self.session, self.server, self.report = session, server, report
        self.target = mac
        self.probe, self.restart, self.renew = probe, restart, renew
        self.retry, self.margin, self.comeback = retry, margin, comeback
        self.progress = progress
        self.cond = threading.Condition()
        self.mode = "measure" if retry is None else "wait"
        self.discovers: list[tuple[float, int | None]] = []   # while measuring: (time, xid) of each DISCOVER
        self.row: ReplyRow | None = None
        self.case: ReplyCase | None = None
        self.xid: int | None = None
        self.since = time.monotonic()     # when the mode began
        self.quiet = False                # the device needs restart() to come back
        self.restarts = 0                 # restarts in a row with no DISCOVER after them
        self.renewed = False              # renew() called for this case
        self.attempts: dict[str, int] = {}
        self.ctx = Ctx(server.pool.server_ip, mac or b"")
        self.life = Liveness(mac)         # every frame from the device, as evidence (fed by tap)
        self.chooser = Chooser(mac, self.ours)
        self.heard = 0.0                  # when any candidate last sent DHCP
        self.last_discover: float | None = None
        self.last_xid: int | None = None
        self.gap_before: float | None = None   # the case's DISCOVER since the one before it, the same xid
        self.schedule = Schedule()        # what its DISCOVERs showed: doubling, the pauses between tries
        self.given_retry = retry is not None   # the user's word for its schedule: no pause beyond it
        self.naks = 0                     # REQUESTs sent back to DISCOVER while measuring
        self.sent_at: float | None = None     # when the case's own reply went
        self.nak_at = 0.0                     # when a request between cases last got a NAK

    def ours(self) -> set[bytes]:
        """Our own MACs: never the device under test."""
        endpoint = self.session.endpoint
        return {endpoint.mac_bytes, *endpoint.transport.local_macs}

    def choose(self, req: Frame) -> bool:
        """Whether ``req`` comes from the device (:class:`~.liveness.Chooser`); the
        message that chooses it brings the DISCOVER times it sent before, for the measure."""
        now = time.monotonic()
        if self.target is None and req.chaddr not in self.ours():
            self.heard = now
        got = self.chooser.see(req.chaddr, (now, req.xid, req.message_type))
        if got and self.target is None:
            self.target = req.chaddr
            self.ctx = Ctx(self.server.pool.server_ip, req.chaddr)
            self.life.follow(req.chaddr)
            self.discovers = [(t, xid) for t, xid, kind in got[:-1] if kind == DISCOVER]   # this one: as it goes on
        return bool(got)

    def tap(self, raw: bytes) -> None:
        """Every frame read (the reader's thread): the device's are signs of life;
        its ARP and ICMP go into the case's frames too, as evidence."""
        sign = self.life.feed(raw)
        if sign is not None and not sign.dhcp and sign.kind != "frame":
            row = self.row
            if row is not None and self.mode in ("sent", "quiet"):
                row.frames.append(("in", raw, time.time()))

    # -- the server's hooks (the reader's thread) ---------------------------

    def observe(self, req: Frame) -> None:
        mt = req.message_type
        if not self.choose(req):
            return
        with self.cond:
            now = time.monotonic()
            self.schedule.see(now, req.xid, mt == DISCOVER)
            if mt == DISCOVER:   # a retransmission (the same xid) shows where it is in its back-off
                again = self.last_discover is not None and req.xid == self.last_xid
                self.gap_before = now - self.last_discover if again and self.last_discover is not None else None
                self.last_discover, self.last_xid = now, req.xid
            if self.mode == "measure":
                if mt == DISCOVER:
                    self.discovers.append((now, req.xid))
                retry = measured(self.discovers)
                if retry is None:
                    return
                self.retry = retry
                self._set("wait")
            if self.row is not None and self.mode in ("sent", "offered", "bound", "quiet"):
                self.row.frames.append(("in", req.raw, time.time()))
            if self.mode == "quiet":
                self._quiet_ends(req.type_name)
            if self.mode == "sent":
                self._after_hostile(req)
            if self.mode == "wait" and mt == DISCOVER and self.report.remaining and not self._restart_due():
                self._begin(req)
            elif self.mode == "offered" and mt == REQUEST and req.xid == self.xid:
                self._set("ack-pending" if self.case and self.case.phase == "ack" else "bound-pending")
            elif self.mode == "bound" and mt == REQUEST and req.ciaddr != ZERO_IP:
                self._set("nak-pending")
            self.cond.notify_all()

    def _after_hostile(self, req: Frame) -> None:
        assert self.case is not None
        mt, phase = req.message_type, self.case.phase
        if phase == "offer" and mt == REQUEST and req.xid == self.xid:
            self._verdict("accepted", "it sent a REQUEST for the offer")
            self.quiet = True   # it waits for our ACK: a NAK (or restart) sends it back
        elif phase == "offer" and mt == DISCOVER:
            self._verdict("rejected", "it ignored the offer and asked again")
        elif phase == "ack" and mt in (DISCOVER, REQUEST):
            self._verdict("rejected", f"it ignored the ACK and sent a {req.type_name}")
            self.quiet = mt == REQUEST
        elif phase == "ack" and mt == DECLINE:
            self._verdict("rejected", "it DECLINEd the address it was given")
        elif phase == "renew" and mt == DISCOVER:
            self._verdict("accepted", "it took the NAK and started over")
        elif phase == "renew" and mt == REQUEST:
            self._verdict("rejected", "it ignored the NAK and asked again")
            self.quiet = True
        elif phase == "bound" and mt in (REQUEST, DISCOVER):
            # RFC 3203: a client that takes a FORCERENEW renews at once; later, it is its own T1.
            after = time.monotonic() - (self.sent_at or self.since)
            if after <= FORCERENEW_WITHIN + self.margin:
                how = "renewed" if mt == REQUEST else "started over"
                self._verdict("accepted", f"it {how} on the FORCERENEW, {after:.1f} s after it")
            else:
                self._verdict("ignored", f"it ignored the FORCERENEW: its {req.type_name} came {after:.1f} s "
                              "later, on its own schedule")
            self.quiet = mt == REQUEST

    def _quiet_ends(self, kind: str) -> None:
        """A request (``kind``: its name) after the device went quiet following the
        case: bound, perhaps to a bogus address, it renews; or it starts over."""
        assert self.case is not None
        waited = time.monotonic() - (self.sent_at or self.since)
        took = "the lease" if self.case.phase == "ack" else "nothing from the FORCERENEW"
        if kind == "REQUEST":
            verdict = "accepted" if self.case.phase == "ack" else "ignored"
            asked = " (asked to, with renew())" if self.renewed else ""
            self._verdict(verdict, f"it took {took}: quiet (bound), then renewed {waited:.1f} s later{asked}")
            self.quiet = True
        else:
            self._verdict("inconclusive", f"quiet for {waited:.1f} s, then a {kind}: it may have used the "
                          "lease and let it go, or started over")

    def on_reply(self, req: Frame, raw: bytes) -> Any:
        if req.chaddr != self.target and not (self.target is None and self.mode == "measure"):
            return raw
        with self.cond:
            mode, case = self.mode, self.case
            if mode == "measure":   # DISCOVERs unanswered, so that it retries and shows its interval;
                if req.message_type == REQUEST:   # a bound client (any, until one is chosen) starts over
                    self.naks += 1
                    return self.server.nak_frame(req, "start over")
                return None
            if mode == "offer-pending" and case is not None and _kind(raw) == OFFER:
                return self._hostile(case.make(raw, self.ctx))
            if mode == "offered" and req.xid == self.xid:
                self._out(raw)
                return raw
            if mode == "ack-pending" and case is not None and _kind(raw) == ACK:
                return self._hostile(case.make(raw, self.ctx))
            if mode == "bound-pending" and _kind(raw) == ACK:
                self._out(raw)
                self._set("bound")
                self.cond.notify_all()
                return raw
            if mode == "nak-pending":
                return self._hostile([self.server.nak_frame(req, "renewal refused (sweep_replies)")])
            if req.message_type == REQUEST and not self._restart_due():
                # Between cases (a renewal; an INIT-REBOOT after a restart): back to DISCOVER for the next.
                self.nak_at = time.monotonic()   # it comes back after its own pause (udhcpc: 3 s)
                return self.server.nak_frame(req, "start over")
            return None   # a client about to be restarted gets nothing that would move it on first

    # -- moving a case along (the lock held) --------------------------------

    def _restart_due(self) -> bool:
        """The client is quiet and restart() is about to bring it back: what the
        old process sends now must not start a case (nor be answered)."""
        return self.quiet and self.restart is not None

    def _verdict(self, verdict: str, why: str) -> None:
        if self.row is not None:
            self.renewed = False   # a renew() for the next case, or between cases
        super()._verdict(verdict, why)

    def _begin(self, req: Frame) -> None:
        case = self.report.remaining[0]
        # A fresh address for each case: one left configured by the last case must not answer ARP for this one.
        self.server.table.retire(mac_str(req.chaddr))
        self.case, self.xid, self.quiet = case, req.xid, False
        self.renewed = False
        self.restarts = 0
        self.sent_at = None
        self.row = ReplyRow(case.name, case.cite, case.phase, case.what, case.expect, started=time.time())
        self.row.frames.append(("in", req.raw, time.time()))
        self._set("offer-pending" if case.phase == "offer" else "offered")

    def _hostile(self, frames: list[bytes]) -> None:
        """Sends the case's frames here (the server sends nothing for this
        request), and only then starts timing: a probe never overtakes them."""
        assert self.case is not None
        for n, raw in enumerate(frames):
            self.server.send(raw, f"sweep_replies {self.report.sweep_id} {self.case.name}")
            if n < 5:
                self._out(raw, hostile=True)
        if self.row is not None and len(frames) > 5:
            self.row.note = f"{len(frames)} frames sent; the first 5 kept"
        self._set("sent")
        self.sent_at = self.since
        self.cond.notify_all()

def _kind(raw: bytes) -> int | None:
    return parse_frame(raw).message_type


class Schedule:
    """What the device's DISCOVERs show of its schedule, from runs of them with nothing else
    between: whether it doubles (a retransmission at least 1.5 times the last one's gap) and
    the longest pause before a new transaction (a DISCOVER with another xid). A client with a
    fixed interval may give up after a few tries and pause: BusyBox udhcpc as shipped tries 3
    times, 3 s apart, then waits 20 s (-A) and starts again with another xid."""

    def __init__(self) -> None:
        self.doubling = False
        self.pause: float | None = None
        self._last: tuple[float, int | None] | None = None   # its last DISCOVER, nothing since
        self._gap: float | None = None                      # the gap before it, within one xid

    def see(self, now: float, xid: int | None, discover: bool) -> None:
        last, self._last = self._last, ((now, xid) if discover else None)
        if not discover or last is None:
            self._gap = None
            return
        gap = now - last[0]
        if xid == last[1]:
            self.doubling = self.doubling or (self._gap is not None and gap >= 1.5 * self._gap)
            self._gap = gap
        else:
            self.pause = max(self.pause or 0.0, gap)
            self._gap = None

    def forget(self) -> None:
        """A restart of ours: the gap to its next DISCOVER is not the device's own."""
        self._last = self._gap = None


def measured(discovers: list[tuple[float, int | None]]) -> float | None:
    """The retry interval from (time, xid) of DISCOVERs: between two with the same xid (a
    retransmission; a restarted client's first DISCOVER follows its old one at any gap), or,
    for a client that changes xid each time, the last gap once four came; None until then."""
    if not discovers:
        return None
    same = [t for t, x in discovers if x == discovers[-1][1]]
    times = same if len(same) >= 2 else [t for t, _x in discovers] if len(discovers) >= 4 else []
    return max(0.5, times[-1] - times[-2]) if len(times) >= 2 else None
