"""The DHCPv6 reply sweep's state machine: each message the device sends moves the current
case along (its hostile ADVERTISE or REPLY sent, the device's answer judged);
:mod:`.reply_sweep6` runs it from the caller's thread. See that module for the verdicts.

It sees every frame of the device through the reader's tap (so a REQUEST to a server
identifier that is not ours still counts) and replaces our server's replies through its
``mutate`` hook, on the reader's thread.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from ..wire import mac_str
from ..wire.dhcp6 import ADVERTISE, DHCP6_AT, IP6_NH, REPLY, REQUEST, SOLICIT, UDP6_AT
from ..wire.frames6 import Frame6, parse_frame6
from ..wire.replies6 import start_over
from .liveness import Chooser, Liveness
from .reply_cases6 import ReplyCase6
from .reply_edit6 import Ctx6
from .reply_machine4 import measured
from .reply_report import ReplyReport, ReplyRow
from .reply_run import ReplyRun

if TYPE_CHECKING:
    from ..roles.server6 import Dhcp6Server

RECONFIGURE_WITHIN = 2.0   # seconds: a client that takes a RECONFIGURE answers at once (RFC 8415 18.2.11)
FRESH = 2.5                # a SOLICIT whose retransmission gap is past this backs off too far to start a case on
HOLDS = ("na", "ns-dad", "ns", "icmp6")
CLIENT_MESSAGES = (1, 3, 4, 5, 6, 8, 9, 11)   # SOLICIT REQUEST CONFIRM RENEW REBIND RELEASE DECLINE INFORMATION-REQUEST


class ReplyMachine6(ReplyRun):
    """The state of one sweep; the reader-thread hooks (``tap`` and ``mutate``) and the
    lock-holding moves. :class:`~.reply_sweep6.ReplySweeper6` adds the caller's thread."""

    def __init__(self, session: Any, server: Dhcp6Server, report: ReplyReport, *, mac: bytes | None,
                 probe: Any, restart: Callable[[], Any] | None, retry: float | None, margin: float,
                 comeback: float) -> None:
        self.session, self.server, self.report = session, server, report
        self.target = mac
        self.probe, self.restart = probe, restart
        self.retry, self.margin, self.comeback = retry, margin, comeback
        self.cond = threading.Condition()
        self.mode = "measure" if retry is None else "wait"
        self.since = time.monotonic()
        self.solicits: list[tuple[float, int | None]] = []   # while measuring: (time, txid)
        self.row: ReplyRow | None = None
        self.case: ReplyCase6 | None = None
        self.ctx = Ctx6(mac or bytes(6), b"", server.duid)
        self.life = Liveness(mac)
        self.chooser = Chooser(mac, self.ours)
        self.quiet = False          # the device waits for something we will not send: restart() brings it back
        self.restarts = 0           # restarts in a row with no SOLICIT after them
        self.sent_at: float | None = None
        self.txid: int | None = None        # the exchange the case answered
        self.last_solicit: tuple[float, int | None] | None = None
        self.gap_before: float | None = None   # the case's SOLICIT since the one before it, the same txid
        self.attempts: dict[str, int] = {}
        self.link_local = ""        # the device's link-local address (where a probe goes)
        self.bound_at = 0.0         # the bound phase: when its valid REPLY went

    def ours(self) -> set[bytes]:
        endpoint = self.session.endpoint
        return {endpoint.mac_bytes, *endpoint.transport6.local_macs}

    # -- the reader's thread --------------------------------------------------

    def tap(self, raw: bytes) -> None:
        """Every frame read: the device's are signs of life and evidence; its DHCPv6
        messages (port 547) move the case along, whatever server they are meant for."""
        f = None   # a REQUEST past the MTU comes as its fragments, then whole (the reader puts it together)
        if len(raw) > DHCP6_AT and raw[12:14] == b"\x86\xdd" and raw[IP6_NH] == 17 \
                and raw[UDP6_AT + 2:UDP6_AT + 4] == b"\x02\x23":
            f = parse_frame6(raw, time.time())
            if f.msg is None or f.msg_type not in CLIENT_MESSAGES:
                f = None
            elif f.eth_src is not None:
                self._choose(f)
        sign = self.life.feed(raw)
        if sign is None:
            return
        with self.cond:
            if self.row is not None and self.mode in ("sent", "quiet", "advertised", "bound"):
                self.row.frames.append(("in", raw, time.time()))
            if f is not None:
                self._message(f)
            self.cond.notify_all()

    def _choose(self, f: Frame6) -> None:
        mac = f.eth_src
        if mac is None or (self.target is not None and mac != self.target):
            return
        got = self.chooser.see(mac, (time.monotonic(), f.txid, f.msg_type))
        if got and self.target is None:
            with self.cond:
                self.target = mac
                self.life.follow(mac)
                self.solicits = [(t, x) for t, x, kind in got[:-1] if kind == SOLICIT]

    def _message(self, f: Frame6) -> None:
        """A message of the device's (the lock held)."""
        now, kind = time.monotonic(), f.msg_type
        if f.ip_src:
            self.link_local = f.ip_src
        if f.client_id:
            self.ctx = Ctx6(self.target or bytes(6), f.client_id, self.server.duid)
        if kind == SOLICIT:
            again = self.last_solicit is not None and self.last_solicit[1] == f.txid
            self.gap_before = now - self.last_solicit[0] if again and self.last_solicit else None
            self.last_solicit = (now, f.txid)
        if self.mode == "measure":
            if kind == SOLICIT:
                self.solicits.append((now, f.txid))
            retry = measured(self.solicits)
            if retry is not None:
                self.retry = retry
                self._set("wait")
            return
        if self.mode == "sent":
            self._after_hostile(f)
        elif self.mode == "quiet":
            self._quiet_ends(f)
        if self.mode == "wait" and kind == SOLICIT and self.report.remaining and not self._restart_due():
            if self.restart is not None and self.gap_before is not None and self.gap_before > FRESH:
                self.quiet = True   # it backs off too far: a restart starts it over sooner
            else:
                self._begin(f)
        elif self.mode == "advertised" and kind == SOLICIT:
            # preference 255: a client that takes our valid ADVERTISE REQUESTs at once; this one asks
            # again (dhcpcd after the flood: its receive path stuck), and its backing off must not stall us
            self._again("it SOLICITed again after our valid ADVERTISE")
        elif self.mode == "advertised" and kind == REQUEST:
            self.txid = f.txid
            if self.case is not None and self.case.phase == "reply":
                self._set("reply-pending")
            else:
                self._set("bound-pending")

    def _after_hostile(self, f: Frame6) -> None:
        assert self.case is not None
        kind, phase, name = f.msg_type, self.case.phase, f.type_name
        if phase == "advertise":
            if kind == REQUEST:
                self._verdict("accepted", "it sent a REQUEST on the ADVERTISE")
                self.quiet = True
            elif kind == SOLICIT:
                self._verdict("rejected", "it ignored the ADVERTISE and asked again")
            else:
                self._verdict("inconclusive", f"a {name} followed the ADVERTISE")
                self.quiet = True
        elif phase == "reply":
            if kind in (5, 6):   # RENEW, REBIND: it holds what the REPLY gave
                self._verdict("accepted", f"it took the REPLY: bound, it sent a {name}")
            elif kind == REQUEST:
                again = "retransmitted" if f.txid == self.txid else "a new one"
                self._verdict("rejected", f"it ignored the REPLY and asked again (a REQUEST, {again})")
            elif kind == SOLICIT:
                self._verdict("rejected", "it ignored the REPLY and started over with a SOLICIT")
            elif kind in (8, 9):   # RELEASE, DECLINE
                self._verdict("rejected", f"it gave back what the REPLY gave (a {name})")
            else:
                self._verdict("inconclusive", f"a {name} followed the REPLY")
            # restarted even when it SOLICITs: a client that dropped its IAs may solicit for each (dhcp6c
            # does), and a second SOLICIT after the next case's REPLY would speak for that case
            self.quiet = True
        elif phase == "bound":
            now = time.monotonic()
            after, bound_for = now - (self.sent_at or self.since), now - self.bound_at
            t1 = self.server.config.times[0]
            if kind in (5, 6) and after <= RECONFIGURE_WITHIN + self.margin and bound_for < t1 - 0.5:
                self._verdict("accepted", f"it sent a {name} {after:.1f} s after the RECONFIGURE")
            else:
                self._verdict("ignored", f"its {name} came {after:.1f} s after the RECONFIGURE, {bound_for:.1f} s "
                              f"after its REPLY (T1 {t1} s): on its own schedule")
            self.quiet = True

    def _quiet_ends(self, f: Frame6) -> None:
        """A message after the device went quiet following a REPLY case: bound, it renews; or it starts over."""
        assert self.case is not None
        waited = time.monotonic() - (self.sent_at or self.since)
        if f.msg_type in (5, 6):
            self._verdict("accepted", f"it took the REPLY: quiet (bound), then a {f.type_name} {waited:.1f} s later")
            self.quiet = True
        else:
            self._verdict("inconclusive", f"quiet for {waited:.1f} s, then a {f.type_name}: it may have used the "
                          "lease and let it go, or started over")
            self.quiet = f.msg_type != SOLICIT

    def mutate(self, req: Frame6, raw: bytes) -> Any:
        """Our server's reply to the device: the case's frames in its place, the valid
        one, or nothing (between cases only a SOLICIT starts something)."""
        if req.eth_src != self.target:
            return raw if self.target is not None else None
        kind = raw[DHCP6_AT] if len(raw) > DHCP6_AT else None
        with self.cond:
            mode, case = self.mode, self.case
            if case is not None and mode == "advertise-pending" and kind == ADVERTISE:
                return self._hostile(case.make(raw, self.ctx))
            if case is not None and mode == "advertise-valid" and kind == ADVERTISE:
                self._out(raw)
                self._set("advertised")
                return raw
            if case is not None and mode == "reply-pending" and kind == REPLY:
                return self._hostile(case.make(raw, self.ctx))
            if case is not None and mode == "bound-pending" and kind == REPLY:
                self._out(raw)
                self._set("bound")
                self.bound_at = self.since
                self.cond.notify_all()
                return raw
            if mode in ("wait", "idle", "measure") and not self._restart_due():
                if req.msg_type == REQUEST:
                    return raw   # between cases: bound on a short lease, it comes back when the lease ends
                # an old lease (a restarted client REBINDs or CONFIRMs it first): back to SOLICIT at once
                return start_over(req, server_duid=self.server.duid, mac=self.session.endpoint.mac_bytes,
                                  src=self.server.address)
            return None

    # -- moves (the lock held) ----------------------------------------------

    def _restart_due(self) -> bool:
        return self.quiet and self.restart is not None

    def _begin(self, f: Frame6) -> None:
        case = self.report.remaining[0]
        self.case, self.quiet, self.restarts, self.sent_at, self.txid = case, False, 0, None, f.txid
        self.row = ReplyRow(case.name, case.cite, case.phase, case.what, case.expect, started=time.time())
        self.row.frames.append(("in", f.raw, time.time()))
        self._set("advertise-pending" if case.phase == "advertise" else "advertise-valid")

    def _hostile(self, frames: list[bytes]) -> list[bytes]:
        """The case's frames, to go in place of the reply; timing starts now."""
        assert self.case is not None and self.row is not None
        for raw in frames[:5]:
            self._out(raw, hostile=True)
        if len(frames) > 5:
            self.row.note = f"{len(frames)} frames sent; the first 5 kept"
        self._set("sent")
        self.sent_at = self.since
        self.cond.notify_all()
        return frames

    def addresses(self) -> list[str]:
        """The addresses the case's reply gave the device (the last one sent to it)."""
        row = self.row
        for direction, raw, _t in reversed(row.frames if row else []):
            if direction != "in":
                f = parse_frame6(raw)
                return [a.address for i in f.ia_na for a in i.addresses if a.address]
        return []

    def holds(self) -> str:
        """What shows the device uses an address the case gave it, in words, or ""."""
        since = self.sent_at or self.since
        for address in self.addresses():
            sign = self.life.holds(address, since)
            if sign is not None and sign.kind in HOLDS:
                return f"{sign.phrase()}"
        return ""

    def device(self) -> str:
        return mac_str(self.target) if self.target else "the device"
